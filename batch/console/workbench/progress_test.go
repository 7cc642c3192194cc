package workbench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestProgressAndCancel starts a run on 3,000 stored Patients (far more
// than can be mapped before the next request): its page refreshes itself,
// shows counts but no patient data and writes no PHI view; Cancel stops
// it, and the page then shows the diffs so far.
func TestProgressAndCancel(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for i := range 3000 {
			v, err := fhir.DecodeString(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","gender":"female","name":[{"use":"official","family":"%s"}]}`, i, canary), fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			if _, _, err := tx.PutValue(ctx, "Patient", v.GetString("id"), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e := consoletest.NewServer(t, consoletest.WithStore(st), consoletest.WithConfig(&config.Config{}))
	edited := strings.Replace(shippedText(t, "solo/patient"), "    from: gender\n", "    from: \"gender.upper()\"\n", 1)
	now := time.Now().UTC()
	resp := post(t, e, console.RoleAnalyst, "/console/workbench/run", url.Values{"mapping": {"shipped:solo/patient"}, "edited": {edited},
		"source": {"range"}, "max": {"5000"}, "since": {now.Add(-time.Hour).Format(timeForm)}, "until": {now.Add(time.Hour).Format(timeForm)}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run: %s", resp.Status)
	}
	page, err := e.Client(console.RoleAnalyst).Get(e.URL + loc)
	if err != nil {
		t.Fatal(err)
	}
	body := string(readBody(t, page))
	page.Body.Close()
	if page.Header.Get("Refresh") != refresh || !strings.Contains(body, "refreshes by itself") || strings.Contains(body, canary) {
		t.Fatalf("a running job's page: Refresh %q\n%s", page.Header.Get("Refresh"), body)
	}
	for _, a := range audit(t, e) {
		if a.Action == "phi.view" {
			t.Fatalf("a progress view was audited as a PHI view: %+v", a)
		}
	}
	if resp := post(t, e, console.RoleAnalyst, loc+"/cancel", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %s", resp.Status)
	}
	var final string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, final = e.Get(t, console.RoleAnalyst, loc); !strings.Contains(final, "refreshes by itself") {
			break
		}
	}
	if !strings.Contains(final, "cancelled") || strings.Contains(final, `id="n-inputs">3000<`) {
		t.Fatalf("after cancel:\n%s", final)
	}
	var cancelled bool
	for _, a := range audit(t, e) {
		cancelled = cancelled || a.Action == "workbench.cancel" && strings.Contains(a.Target, strings.TrimPrefix(loc, "/console/workbench/jobs/"))
	}
	if !cancelled {
		t.Fatal("the cancel is not audited")
	}
}
