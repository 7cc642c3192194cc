package hl7in

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// memBackend commits nothing and remembers nothing: the fuzz target's
// store.
type memBackend struct{}

func (memBackend) Commit(_ context.Context, req *server.Request) (*server.Result, error) {
	res := &server.Result{Entries: make([]server.EntryResult, len(req.Entries))}
	for i := range res.Entries {
		res.Entries[i] = server.EntryResult{ID: "x", Version: 1, Created: true}
	}
	if req.Response != nil {
		req.Response(res)
	}
	return res, nil
}

func (memBackend) Read(context.Context, string, string) ([]byte, int, error) {
	return nil, 0, server.ErrNotFound
}

func (memBackend) Seen(context.Context, string, string) (int, []byte, bool, error) {
	return 0, nil, false, nil
}

func (memBackend) Ready(context.Context) error { return nil }

// FuzzProcess: whatever a sender sends, the Handler answers an ACK that
// parses, with MSA-1 AA, AE or AR, and an ERR-8 text of its own.
func FuzzProcess(f *testing.F) {
	for _, s := range [][]byte{
		adt("A04", "C1", canaryMRN, canaryDOB),
		adt("A40", "C2", "N1", "", "MRG|O1^^^H^MR"),
		adt("A04", "C3", canaryMRN, "19XX"),
		adt("A99", "C4", canaryMRN, canaryDOB),
		[]byte("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.2\r"),
		[]byte("MSH|^~\\&|A|B\rP!D|"),
		[]byte("hello"),
	} {
		f.Add(s)
	}
	h := &Handler{Translators: map[string]Translator{"ADT": TranslatorFunc(testTranslator)},
		Backend: memBackend{}, Logger: slog.New(slog.DiscardHandler), Parse: hl7v2.Options{Limits: hl7v2.Limits{MaxMessageBytes: 1 << 16}}}
	texts := []string{"", "the message could not be parsed", "HL7 versions", "this message type", "MSH-10",
		"the message could not be mapped", "this trigger event", "the mapped FHIR resources are not valid", "the message"}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ack, out := h.Process(context.Background(), msg, "mllp")
		if ack == nil {
			t.Fatalf("no ACK (%s)", out)
		}
		m, err := hl7v2.Parse(ack)
		if err != nil {
			t.Fatalf("the ACK does not parse: %v", err)
		}
		code, _ := m.Get("MSA-1")
		if code != out.Code || (code != "AA" && code != "AE" && code != "AR") {
			t.Fatalf("MSA-1 %q, outcome %s", code, out)
		}
		text, _ := m.Get("ERR-8")
		ok := false
		for _, p := range texts {
			if strings.HasPrefix(text, p) && (p != "" || text == "") {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("ERR-8 is not a text of the handler's own: %q", text)
		}
	})
}
