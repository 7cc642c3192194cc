package inbound

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// FuzzProcess runs arbitrary bytes through the whole processing of one
// file: no panic, counts that add up, no version written unless a row
// applied, and nothing applied without the mapping's header.
func FuzzProcess(f *testing.F) {
	for _, seed := range []string{
		rows("a1;;;;p;CANCELLED by USER", "a2;;;;p;APPROVED"),
		rows("a1;;;;p;CANCELLED by ADMIN", "zz;;;;p;NOPE", "a2;x\"y;;;p;PENDING"),
		"\ufeff" + rows("a1;;;;p;PENDING"),
		"APP_LID,USER_LANDLINE_PHONE,USER_MOBILE_PHONE,USER_EMAIL,RESOURCE_LID,STATUS\r\na2,,,,p,CANCELLED by USER\r\n",
		"",
		"\x00\xff\xfe garbage",
		"\"unterminated\n",
		header,
		header + "\"a1\";;;;p;\"CANCELLED by USER\"\n",
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f, Spec{}, Options{}, "a1", "a2")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		e.t = t // helpers must report to this iteration
		const name = "cancellations_fuzz.csv"
		e.remote.write(name, string(data))
		_, v1 := e.appointment("a1")
		_, v2 := e.appointment("a2")
		rep, err := e.p.Reprocess(ctx, e.remote, name)
		if err != nil {
			t.Fatalf("Reprocess: %v", err)
		}
		fr := rep.Files[0]
		if fr.Updated > fr.RowsOK || len(fr.Failed) > MaxListed || fr.RowsFailed < 0 {
			t.Fatalf("counts do not add up: %+v", fr)
		}
		if fr.Outcome == "ok" && (fr.RowsFailed > 0 || len(fr.Failed) > 0) {
			t.Fatalf("ok with failures: %+v", fr)
		}
		_, w1 := e.appointment("a1")
		_, w2 := e.appointment("a2")
		if fr.Updated == 0 && (w1 != v1 || w2 != v2) {
			t.Fatalf("versions moved without an update: a1 %d→%d, a2 %d→%d", v1, w1, v2, w2)
		}
		if !bytes.Contains(data, []byte("APP_LID")) || !bytes.Contains(data, []byte("STATUS")) {
			if fr.RowsOK != 0 || fr.Outcome != "failed" || !strings.HasPrefix(fr.MovedTo, "error/cancellations_fuzz") {
				t.Fatalf("garbage applied: %+v", fr)
			}
		}
		for _, le := range fr.Failed {
			if le.Line < 1 || strings.ContainsRune(le.Reason, '\n') {
				t.Fatalf("bad failure entry %+v", le)
			}
		}
	})
}
