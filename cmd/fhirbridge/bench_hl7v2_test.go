package main

// The HL7 v2 benchmark of issue 19: realistic SIU^S12 messages, each for
// a new appointment of a new patient, sent over MLLP to an in-process
// serve with the shipped hl7v2/siu-appointment mapping, each parsed,
// mapped to a 4-entry transaction Bundle, validated, committed to SQLite
// (WAL, synchronous=FULL) and acknowledged AA before the connection sends
// its next one.
//
// The same Bundles, mapped beforehand by the client and posted as FHIR over
// HTTP to the same serve ("fhir"), give the cost of a FHIR intake of the
// same data on the same store, for the ratio.
//
//	go test ./cmd/fhirbridge -run '^$' -bench ServeHL7v2 -benchtime 2000x -count 3

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// benchSIU is the n-th distinct SIU^S12 of the benchmark: its own control
// id, appointment id and patient.
func benchSIU(n int64) []byte {
	ts := time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC).Add(time.Duration(n%5000) * 15 * time.Minute).Format("200601021504")
	return []byte(fmt.Sprintf("MSH|^~\\&|SCHEDSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207091500||SIU^S12^SIU_S12|B%d|P|2.5.1|||AL|NE\r"+
		"SCH|APT-B%d^SCHEDSYS|FIL-B%d^AGENDA|||||FOLLOWUP^Follow-up visit^HL70276|Normal^Routine^HL70277|30|min|^^30^%s+0100\r"+
		"PID|1||MRN-B%d^^^NORTHCLINIC^MR||Ejemplo%d^Lucia^Marta^^Ms^^L||19800402|F|||Calle Ficticia %d^^Valencia^^46001^ES^H||^PRN^PH^^34^910^%06d\r"+
		"RGS|1|A\r"+
		"AIS|1|A|CONS-FU^Follow-up consultation^L|%s+0100|||30|min\r"+
		"AIP|1|A|D-%d^Ficticio^Jorge^^^Dr^MD^^NORTHCLINIC|ATND^Attending||%s+0100|||30|min\r"+
		"AIL|1|A|CONS-%d^^^NORTHCLINIC^^^^^Consulting room|ROOM^Room\r",
		n, n, n, ts, n, n, n%100, n%1000000, ts, n%40, ts, n%12))
}

// BenchmarkServeHL7v2 reports messages per second over 1 and 8 MLLP
// connections (each waits for its ACK before the next message), and
// Bundles per second for the same data posted as FHIR by as many clients.
func BenchmarkServeHL7v2(b *testing.B) {
	var seq atomic.Int64
	for _, conns := range []int{1, 8} {
		b.Run("mllp/conns="+strconv.Itoa(conns), func(b *testing.B) {
			addr := freeAddr(b)
			s := startBenchServeOn(b, "", false, 1, "hl7v2:\n  listen: \""+addr+"\"\n  params: {zone: Europe/Madrid}\n")
			defer s.stop()
			var left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.Dial("tcp", addr)
					if err != nil {
						b.Error(err)
						return
					}
					defer c.Close()
					r := mllp.NewReader(bufio.NewReader(c), 1<<20)
					for left.Add(-1) >= 0 {
						if err := mllp.WriteFrame(c, benchSIU(seq.Add(1))); err != nil {
							b.Error(err)
							return
						}
						ack, err := r.ReadFrame()
						if err != nil {
							b.Error(err)
							return
						}
						if !strings.Contains(string(ack), "\rMSA|AA|") {
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

// BenchmarkServeHL7v2AsFHIR posts the Bundles the shipped mapping makes
// of the messages of BenchmarkServeHL7v2 (mapped beforehand, with the
// Bundle.identifier the listener would give them) as FHIR transactions.
func BenchmarkServeHL7v2AsFHIR(b *testing.B) {
	p, _ := shipped.Path("hl7v2/siu-appointment")
	m, err := mapping.Load(shipped.FS, p, map[string]string{"zone": "Europe/Madrid"})
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	seq.Store(1 << 40) // other ids than BenchmarkServeHL7v2's
	for _, conns := range []int{1, 8} {
		b.Run("fhir/conns="+strconv.Itoa(conns), func(b *testing.B) {
			bodies := make([]string, b.N)
			for i := range bodies {
				n := seq.Add(1)
				msg, err := hl7v2.Parse(benchSIU(n))
				if err != nil {
					b.Fatal(err)
				}
				bundle, err := m.ReverseMessage(msg)
				if err != nil || bundle == nil {
					b.Fatalf("mapping: %v", err)
				}
				id := fhir.NewObject()
				id.Set("system", fhir.NewString("urn:fhirbridge:hl7v2:msh-10"))
				id.Set("value", fhir.NewString("SCHEDSYS|NORTHCLINIC|B"+strconv.FormatInt(n, 10)))
				bundle.Set("identifier", id)
				bodies[i] = string(bundle.AppendJSON(nil))
			}
			s := startBenchServeOn(b, "", false, conns)
			defer s.stop()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(len(bodies)) {
							return
						}
						if err := s.post(bodies[i]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "bundles/s")
		})
	}
}
