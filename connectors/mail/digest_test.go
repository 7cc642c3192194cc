package mail

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Canary patient data: the fixtures slip it into every free-text input a
// careless builder might copy; no received mail may contain it.
const (
	canaryName  = "Mariella Canaryfield"
	canaryPhone = "+39 333 765 4321"
	canaryMail  = "mariella.canary@patient.example"
)

var canaries = []string{"Mariella", "Canaryfield", "765 4321", "7654321", "canary@", "patient.example"}

var at = time.Date(2025, 4, 12, 6, 30, 0, 0, time.UTC)

func cancellationFile(rows int) CancellationSummary {
	s := CancellationSummary{Site: "Verona Centro", File: "TT_DELETE_RESERVATION_20250412.csv", At: at}
	for i := 1; i <= rows; i++ {
		switch {
		case i%10 == 0:
			s.Failed++
			s.FailedLines = append(s.FailedLines, i+1) // line 1 is the header
		case i%7 == 0:
			s.Confirmed++
		default:
			s.Cancelled++
			s.AppointmentIDs = append(s.AppointmentIDs, fmt.Sprintf("APP-%06d", i))
		}
	}
	// A careless caller's ids: a name and a phone where an id belongs.
	s.AppointmentIDs = append(s.AppointmentIDs, canaryName, canaryPhone, canaryMail)
	return s
}

func notices() map[string]Notice {
	return map[string]Notice{
		"cancellation": CancellationDigest(cancellationFile(50)),
		"export failure": ExportFailureDigest(ExportFailureSummary{
			Site: "Verona Centro", Job: "tuotempo/reservations",
			WindowStart: at.Add(-24 * time.Hour), WindowEnd: at, Attempts: 5,
			Reason: "patient " + canaryName + " phone " + canaryPhone + " rejected", At: at,
		}),
		"error file": ErrorFileDigest(ErrorFileSummary{
			Site: "Verona Centro", File: "TT_RESERVATIONS_0412.csv", MovedTo: "error/TT_RESERVATIONS_0412.csv",
			Rows: 120, At: at,
			Failures: []LineFailure{
				{Line: 3, Reason: "bad_date"},
				{Line: 9, Reason: "USER_FIRST_NAME=" + canaryName},
				{Line: 12, Reason: "phone " + canaryPhone + " invalid"},
				{Line: 14, Reason: "3337654321"},
				{Line: 15, Reason: canaryMail},
			},
		}),
	}
}

// A cancellation file of 50 rows is one mail listing every cancelled id,
// and no digest carries the canaries.
func TestDigestsSendOneMailWithoutPatientData(t *testing.T) {
	srv := newFakeServer(t, serverOpts{})
	s := newSender(t, srv.config(TLSStartTLS))
	for name, n := range notices() {
		t.Run(name, func(t *testing.T) {
			before := len(srv.messages())
			if err := s.Send(context.Background(), n.Message("desk@clinic.example")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.messages()
			if len(got) != before+1 {
				t.Fatalf("%d mails for one digest, want 1", len(got)-before)
			}
			raw := string(got[len(got)-1].Data)
			_, body := readMessage(t, got[len(got)-1].Data)
			for _, c := range canaries {
				if strings.Contains(raw, c) || strings.Contains(body, c) {
					t.Errorf("mail contains canary %q:\n%s", c, body)
				}
			}
			if name == "cancellation" {
				for _, id := range cancellationFile(50).AppointmentIDs[:3] {
					if !strings.Contains(body, id) {
						t.Errorf("body lacks id %s", id)
					}
				}
				if c := strings.Count(body, "APP-"); c != cancellationFile(50).Cancelled {
					t.Errorf("body lists %d ids, want %d", c, cancellationFile(50).Cancelled)
				}
			}
		})
	}
}

func TestCancellationDigest(t *testing.T) {
	n := CancellationDigest(cancellationFile(50))
	wantSubject := "FHIR bridge: Verona Centro: 38 appointments cancelled from TT_DELETE_RESERVATION_20250412.csv, 5 failed"
	if n.Subject != wantSubject {
		t.Errorf("subject %q, want %q", n.Subject, wantSubject)
	}
	for _, want := range []string{
		"Cancelled:   38\n", "Confirmed:   7\n", "Failed:      5\n",
		"Processed:   2025-04-12 06:30:00 +0000\n", "  APP-000001\n",
		"Failed lines (5):\n  11,  21,  31,  41,  51\n", "[invalid id]",
	} {
		if !strings.Contains(n.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, n.Body)
		}
	}
}

func TestDigestCaps(t *testing.T) {
	s := CancellationSummary{Site: "S", File: "f.csv", Cancelled: 600}
	for i := 0; i < 600; i++ {
		s.AppointmentIDs = append(s.AppointmentIDs, fmt.Sprintf("A%d", i))
		s.FailedLines = append(s.FailedLines, i+2)
	}
	body := CancellationDigest(s).Body
	if got := strings.Count(body, "\n  A"); got != MaxListed {
		t.Errorf("listed %d ids, want %d", got, MaxListed)
	}
	if strings.Count(body, "... and 100 more") != 2 {
		t.Errorf("want two 'and 100 more' lines:\n%s", body)
	}
	e := ErrorFileSummary{File: "f.csv"}
	for i := 0; i < 501; i++ {
		e.Failures = append(e.Failures, LineFailure{Line: i + 2, Reason: "bad_date"})
	}
	if body := ErrorFileDigest(e).Body; strings.Count(body, "  line ") != MaxListed || !strings.Contains(body, "and 1 more") {
		t.Errorf("error file list not capped:\n%s", body[len(body)-300:])
	}
}

// Names with line breaks cannot break a subject: every digest's subject
// passes the header check Send applies.
func TestDigestSubjectsAreSafe(t *testing.T) {
	evil := "a\r\nBcc: evil@attacker.example\x00" + strings.Repeat("é", 300)
	for name, n := range map[string]Notice{
		"cancellation":   CancellationDigest(CancellationSummary{Site: evil, File: evil}),
		"export failure": ExportFailureDigest(ExportFailureSummary{Site: evil, Job: evil, Reason: evil}),
		"error file":     ErrorFileDigest(ErrorFileSummary{Site: evil, File: evil, MovedTo: evil}),
	} {
		if err := checkSubject(n.Subject); err != nil {
			t.Errorf("%s: subject refused: %v", name, err)
		}
		if strings.Contains(n.Body, "\r") || strings.Contains(n.Body, "\nBcc") {
			t.Errorf("%s: body carries the injected line:\n%s", name, n.Body)
		}
	}
}

func TestCleanCode(t *testing.T) {
	for in, want := range map[string]string{
		"bad_date":              "bad_date",
		"http_503":              "http_503",
		"sftp:unreachable":      "sftp:unreachable",
		"Bad_Date":              invalidCode,
		"3331234567":            invalidCode,
		"phone_3331234567":      invalidCode,
		"mario rossi":           invalidCode,
		"a@b.example":           invalidCode,
		"":                      invalidCode,
		strings.Repeat("a", 65): invalidCode,
	} {
		if got := cleanCode(in); got != want {
			t.Errorf("cleanCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// The summaries' shapes are the privacy contract: no field can carry a
// patient's name, phone, e-mail or birth date. A new field must be added
// here on purpose.
func TestSummariesCarryNoPatientFields(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeOf(CancellationSummary{}):  "Site string, File string, Cancelled int, Confirmed int, Failed int, AppointmentIDs []string, FailedLines []int, At time.Time",
		reflect.TypeOf(ExportFailureSummary{}): "Site string, Job string, WindowStart time.Time, WindowEnd time.Time, Attempts int, Reason string, At time.Time, Missed int",
		reflect.TypeOf(ErrorFileSummary{}):     "Site string, File string, MovedTo string, Rows int, Failures []mail.LineFailure, At time.Time",
		reflect.TypeOf(LineFailure{}):          "Line int, Reason string",
	}
	personal := regexp.MustCompile(`(?i)patient|name|phone|mobile|mail|birth|address|user`)
	for typ, fields := range want {
		var got []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			got = append(got, f.Name+" "+f.Type.String())
			if personal.MatchString(f.Name) {
				t.Errorf("%s.%s looks like a personal-data field", typ.Name(), f.Name)
			}
		}
		if g := strings.Join(got, ", "); g != fields {
			t.Errorf("%s fields changed:\n got %s\nwant %s", typ.Name(), g, fields)
		}
	}
}
