package app

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// freePort returns a loopback address free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fhirbridge.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const serveADT = "MSH|^~\\&|EPIC|HOSP|FB|TC|20260101120000||ADT^A04^ADT_A01|S1|P|2.5.1\rPID|1||MRN-1^^^HOSP^MR||DOE^JANE||19610423|F\r"

// TestServeHL7v2 runs serve with hl7v2.listen and a mapping: a message
// over MLLP and one by POST /hl7v2 are acknowledged AA and stored; serve
// stops gracefully, listener included.
func TestServeHL7v2(t *testing.T) {
	mappingFile, err := filepath.Abs("../hl7in/testdata/adt-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mllpAddr := freePort(t)
	c := loadConfig(t, "data_dir: "+dir+"\nserver: {listen: \"127.0.0.1:0\"}\nhl7v2:\n  listen: \""+mllpAddr+"\"\n  mappings: {ADT: "+mappingFile+"}\n")
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	addr, done, err := Start(ctx, c, slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()

	nc, err := net.Dial("tcp", mllpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := mllp.WriteFrame(nc, []byte(serveADT)); err != nil {
		t.Fatal(err)
	}
	raw, err := mllp.NewReader(bufio.NewReader(nc), 1<<20).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if m, err := hl7v2.Parse(raw); err != nil {
		t.Fatal(err)
	} else if code, _ := m.Get("MSA-1"); code != "AA" {
		t.Fatalf("MLLP: MSA-1 %q, want AA: %q", code, raw)
	}

	resp, err := http.Post("http://"+addr+"/hl7v2", "x-application/hl7-v2+er7",
		strings.NewReader(strings.Replace(serveADT, "|S1|", "|S2|", 1)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("MSA|AA|S2")) {
		t.Fatalf("POST /hl7v2: %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	met, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`fhirbridge_hl7v2_messages_total{ack="AA",transport="mllp",type="ADT^A04"} 1`,
		`fhirbridge_hl7v2_messages_total{ack="AA",transport="http",type="ADT^A04"} 1`, "fhirbridge_mllp_connections_total"} {
		if !bytes.Contains(met, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	done = closedNil()
	st, err := store.Open(context.Background(), c.Database.URL.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	if err := st.Current(context.Background(), "Patient", func(string, int, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d Patients stored, want 1 (the same patient twice)", n)
	}
	for _, v := range []string{"DOE", "JANE", "19610423", "MRN-1"} {
		if strings.Contains(logs.String(), v) {
			t.Errorf("the log holds the patient value %q", v)
		}
	}
}

// TestServeHL7v2BadMapping: with hl7v2.listen set, a mapping that is not
// an HL7 v2 mapping stops serve at start, naming the key.
func TestServeHL7v2BadMapping(t *testing.T) {
	c := loadConfig(t, "data_dir: "+t.TempDir()+"\nserver: {listen: \"127.0.0.1:0\"}\nhl7v2:\n  listen: \""+freePort(t)+"\"\n  mappings: {ADT: solo/patient}\n")
	_, _, err := Start(context.Background(), c, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "hl7v2.mappings.ADT") || !strings.Contains(err.Error(), "not an HL7 v2 mapping") {
		t.Fatalf("err = %v", err)
	}
}

func closedNil() <-chan error {
	c := make(chan error, 1)
	c <- nil
	return c
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestHL7v2SharedParams: hl7v2.params go to the mappings that declare
// them; one that none declares is an error naming it.
func TestHL7v2SharedParams(t *testing.T) {
	adt, err := filepath.Abs("../hl7in/testdata/adt-test.yaml") // declares zone
	if err != nil {
		t.Fatal(err)
	}
	noParams := filepath.Join(t.TempDir(), "plain.yaml")
	src, err := os.ReadFile(adt)
	if err != nil {
		t.Fatal(err)
	}
	plain := strings.Replace(strings.Replace(string(src), "params:\n  zone: {default: UTC}\n", "", 1), `{zone: "%zone"}`, `{zone: "UTC"}`, 1)
	if err := os.WriteFile(noParams, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, params, wantErr string
	}{
		{"shared zone", "{zone: Europe/Rome}", ""},
		{"undeclared", "{zone: Europe/Rome, mrn_system: x}", "hl7v2.params.mrn_system: no hl7v2 mapping declares this parameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := loadConfig(t, "data_dir: "+t.TempDir()+"\nhl7v2:\n  mappings: {ADT: "+adt+", SIU: "+noParams+"}\n  params: "+tc.params+"\n")
			trs, err := hl7v2Translators(c)
			if tc.wantErr == "" {
				if err != nil || len(trs) != 2 {
					t.Fatalf("%d translators, err %v", len(trs), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestCheckHL7v2Mappings: fhirbridge check reports an HL7 v2 mapping
// serve would refuse, naming its key.
func TestCheckHL7v2Mappings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fhirbridge.yaml")
	yaml := "data_dir: " + t.TempDir() + "\nserver: {listen: \"127.0.0.1:0\"}\nhl7v2:\n  listen: \"" + freePort(t) + "\"\n  mappings: {ADT: solo/patient}\n"
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := CheckConfig(p)
	if err == nil || !strings.Contains(err.Error(), "hl7v2.mappings.ADT") {
		t.Fatalf("CheckConfig = %v, want the hl7v2.mappings.ADT error", err)
	}
}
