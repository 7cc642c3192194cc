package hl7in

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/mllp"
)

// BenchmarkMLLP measures messages per second through the MLLP listener,
// each parsed, mapped, committed to SQLite (a new Patient per message)
// and acknowledged, over 1 and 8 connections.
func BenchmarkMLLP(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run("conns="+strconv.Itoa(conns), func(b *testing.B) {
			r := newRig(b, sqliteURL(b))
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			per := (b.N + conns - 1) / conns
			for c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					nc, err := net.Dial("tcp", r.addr)
					if err != nil {
						b.Error(err)
						return
					}
					defer nc.Close()
					fr := mllp.NewReader(bufio.NewReader(nc), 1<<20)
					for i := 0; i < per && int(next.Add(1)) <= b.N; i++ {
						n := strconv.Itoa(c) + "-" + strconv.Itoa(i)
						if err := mllp.WriteFrame(nc, adt("A04", "B"+n, "MRN-"+n, canaryDOB)); err != nil {
							b.Error(err)
							return
						}
						ack, err := fr.ReadFrame()
						if err != nil {
							b.Error(err)
							return
						}
						if len(ack) < 40 || !containsAA(ack) {
							b.Errorf("not AA: %q", ack)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

func containsAA(ack []byte) bool {
	for i := 0; i+6 < len(ack); i++ {
		if string(ack[i:i+7]) == "\rMSA|AA" {
			return true
		}
	}
	return false
}
