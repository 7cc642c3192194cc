package inbound

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestNoPatientDataLeaks: phones and emails of the file appear in no
// report, ledger detail, error, sidecar, metric or stored note, whatever
// row they are on and wherever in it.
func TestNoPatientDataLeaks(t *testing.T) {
	const phone, mobile, email = "+34911555000", "+34699111222", "canary.patient@example.org"
	metrics := NewMetrics()
	e := newEnv(t, Spec{}, Options{Metrics: metrics}, "a1", "a2")
	content := header +
		"a1;" + phone + ";" + mobile + ";" + email + ";p;CANCELLED by USER\n" + // ok
		mobile + ";;;" + email + ";p;CANCELLED by USER\n" + // phone in APP_LID: unknown appointment
		email + strings.Repeat("x", 40) + ";;;;p;CANCELLED by USER\n" + // APP_LID over 50 chars
		"a2;" + phone + ";" + mobile + ";" + email + ";p;" + email + "\n" + // email as STATUS
		"a2;" + phone + ";" + mobile + ";" + email + "\n" + // too few fields
		"a2;" + phone + ";" + mobile + ";x\"" + email + ";p;APPROVED\n" + // bare quote
		"a2;\"" + mobile + "\"x;;;p;APPROVED\n" // text after a closing quote
	e.remote.write("cancellations_1.csv", content)
	e.remote.write("cancellations_2.csv", content) // same content: duplicate
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	if len(rep.Files) != 2 || rep.Files[0].RowsFailed != 6 || rep.Files[1].Outcome != "duplicate" {
		t.Fatalf("%+v", rep.Files)
	}
	var texts []string
	texts = append(texts, fmt.Sprintf("%+v", rep), fmt.Sprintf("%v", rep.Err()))
	for _, f := range rep.Files {
		for _, le := range f.Failed {
			texts = append(texts, le.Reason)
		}
	}
	for _, en := range e.entries() {
		texts = append(texts, fmt.Sprintf("%+v", en))
	}
	for _, name := range []string{"error/cancellations_1.csv", "error/cancellations_2.csv"} {
		texts = append(texts, e.remote.content(name+ReportSuffix))
	}
	a, _ := e.appointment("a1")
	texts = append(texts, string(a.JSON()))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Fatalf("metrics: %d, %v", n, err)
	}
	mfs, _ := reg.Gather()
	texts = append(texts, fmt.Sprint(mfs))

	// a Reprocess and a failing remote add their errors too
	rep2, err := e.p.Reprocess(context.Background(), e.remote, "missing.csv")
	texts = append(texts, fmt.Sprintf("%+v %v", rep2, err))

	for _, s := range texts {
		for _, canary := range []string{phone, mobile, email, "699111222", "canary"} {
			if strings.Contains(s, canary) {
				t.Errorf("%q leaked into:\n%s", canary, s)
			}
		}
	}
}
