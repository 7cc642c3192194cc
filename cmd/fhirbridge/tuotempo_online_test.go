package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ttsim"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/wsapi"
)

// TestTuotempoOnlineEndToEnd: tuOtempO's online booking as a hospital runs
// it. The sandbox starts tuOtempO's login server and a fake EHR; serve
// runs on the config the sandbox prints; the EHR's Schedule and Slots are
// posted to /fhir; the simulator plays a patient on tuOtempO's portal over
// REST and over SOAP — centers, key entities, search, book (a new
// patient), check, list, move, cancel, and the A.4 reminder round — and
// every booking, move and cancellation reaches the EHR as a transaction,
// shown by `deliveries`; the patient then signs on to tuOtempO (D.1)
// without any patient data in the URL. On SQLite and on PostgreSQL.
func TestTuotempoOnlineEndToEnd(t *testing.T) {
	stores := []struct{ name, url string }{{"sqlite", ""}}
	if !testing.Short() {
		stores = append(stores, struct{ name, url string }{"postgres", pgtest.Start(t)})
	}
	for _, st := range stores {
		for _, transport := range []string{"rest", "soap"} {
			t.Run(st.name+"/"+transport, func(t *testing.T) {
				db := ""
				if st.url != "" {
					db = pgtest.CreateDatabase(t, st.url, "online_"+transport)
				}
				playOnline(t, db, transport)
			})
		}
	}
}

func playOnline(t *testing.T, databaseURL, transport string) {
	sb, err := ttsim.StartSandbox(ttsim.SandboxOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for k, v := range sb.Env() {
		t.Setenv(k, v)
	}
	yaml := sb.Config()
	if databaseURL != "" {
		yaml += "database: {url: \"" + databaseURL + "\"}\n"
	}
	b := startBridge(t, yaml)

	bundle, err := os.ReadFile(sb.BundlePath)
	if err != nil {
		t.Fatal(err)
	}
	post(t, b.Base+"/fhir", string(bundle), http.StatusOK)

	var steps bytes.Buffer
	sc := &ttsim.Scenario{
		Caller:    wsapi.NewClient(b.Base+"/tuotempo/ws/", transport, wsapi.ClientAuth{Token: sb.CenterToken}, nil),
		Transport: transport,
		Center:    sb.Center,
		Pattern:   ttsim.PatternTID,
		Reminders: true,
		Out:       &steps,
	}
	rep, err := sc.Run(context.Background())
	if err != nil {
		t.Fatalf("scenario over %s: %v\nsteps:\n%s\nlog:\n%s", transport, err, steps.String(), b.Log())
	}
	if rep.Booked == "" || rep.Moved == "" || rep.Reminded == "" || rep.UserLID == "" || rep.Availabilities == 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, app := range []string{rep.Booked, rep.Moved, rep.Reminded} {
		if s := rep.Statuses[app]; len(s) == 0 || s[len(s)-1] != "Cancelled" || !slices.Contains(s, "Confirmed") {
			t.Errorf("statuses seen of %s: %v, want Confirmed then Cancelled", app, s)
		}
	}

	// each change reached the EHR, one transaction per change — book,
	// cancel it (the move's delete), book the other slot, cancel it, and the
	// reminder round's book and cancel — and the EHR ends with the three
	// visits cancelled, their slots free again. A job sends the stored
	// version current when it runs, so a late one carries the later state.
	transactions := func() int {
		n := 0
		for _, r := range sb.EHR.Requests() {
			if r.Method == http.MethodPost && r.Status < 300 {
				n++
			}
		}
		return n
	}
	b.Wait("the write-back of every change", func() bool {
		for _, app := range []string{rep.Booked, rep.Moved, rep.Reminded} {
			if sb.EHR.Status("Appointment", app) != "cancelled" {
				return false
			}
		}
		return transactions() >= 6 && sb.EHR.Status("Slot", rep.BookedSlot) == "free" && sb.EHR.Status("Slot", rep.MovedSlot) == "free"
	})
	if n := transactions(); n != 6 {
		t.Errorf("the EHR got %d transactions, want one per booking, move and cancellation (6)", n)
	}
	out, _, code := run(t, "", "deliveries", "list", "--config", b.Config)
	if code != 0 || !strings.Contains(out, "tuotempo-booking") {
		t.Errorf("deliveries list (exit %d) does not show the booking write-back:\n%s", code, out)
	}

	// D.1: the patient signs on; the URL holds dbName and the session only
	req, _ := http.NewRequest(http.MethodPost, b.Base+"/tuotempo/sso", strings.NewReader(`{"patient": "Patient/`+rep.UserLID+`"}`))
	req.Header.Set("Authorization", "Bearer "+ttsim.DefaultPortalToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var answer struct{ URL string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &answer) != nil || answer.URL == "" {
		t.Fatalf("sign-on: %d %s", resp.StatusCode, body)
	}
	patient := ttsim.DefaultPatient()
	for _, v := range patient {
		if strings.Contains(answer.URL, v) {
			t.Errorf("the session URL carries patient data: %s", answer.URL)
		}
	}
	resp, err = http.Get(answer.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the session URL answered %d, want the patient logged in", resp.StatusCode)
	}
	sessions := sb.Login.Sessions()
	if len(sessions) != 1 || fmt.Sprint(sessions[0]) == "" {
		t.Errorf("login sessions %d, want 1", len(sessions))
	}

	b.Stop()
	b.NoCanary(patient["USER_FIRST_NAME"]+" ", patient["USER_MOBILE_PHONE"], patient["USER_EMAIL"], patient["USER_DATE_OF_BIRTH"], sb.CenterToken, ttsim.DefaultPortalToken)
	if strings.Contains(steps.String(), patient["USER_EMAIL"]) {
		t.Errorf("the simulator printed patient data:\n%s", steps.String())
	}
}

// TestTuotempoSincroServe: Sincro as serve runs it on PostgreSQL. The
// views show what the EHR posted, `tuotempo sincro grant` makes the role
// SINCRO logs in as, and a row that role inserts into TT_RESERVATIONS_TMP
// (an add, as SINCRO writes a booking made on tuOtempO's portal) becomes a
// booked Appointment once, written back to the EHR, with STATUS_TRIGGER
// OK and the APP_LID, and shows in TT_RESERVATIONS.
func TestTuotempoSincroServe(t *testing.T) {
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	base := pgtest.Start(t)
	dbURL := pgtest.CreateDatabase(t, base, "sincro_serve")
	sb, err := ttsim.StartSandbox(ttsim.SandboxOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for k, v := range sb.Env() {
		t.Setenv(k, v)
	}
	cfg := strings.Replace(sb.Config(), "\nehr:", "\n    sincro: {poll: 200ms}\nehr:", 1)
	b := startBridge(t, cfg+"database: {url: \""+dbURL+"\"}\n")
	bundle, err := os.ReadFile(sb.BundlePath)
	if err != nil {
		t.Fatal(err)
	}
	post(t, b.Base+"/fhir", string(bundle), http.StatusOK)

	t.Setenv("SINCRO_PASSWORD", "sincro-role-password")
	out, errOut, code := run(t, "", "tuotempo", "sincro", "grant", "--config", b.Config, "--password-env", "SINCRO_PASSWORD")
	if code != 0 {
		t.Fatalf("sincro grant: exit %d\n%s%s", code, out, errOut)
	}
	role, err := sql.Open("pgx", strings.Replace(dbURL, "postgres@", "tuotempo_sincro:sincro-role-password@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer role.Close()
	var day, start string
	err = role.QueryRow(`SELECT "R_START_DAY", "R_START_TIME" FROM tuotempo."TT_AVAILABILITIES" WHERE "RESOURCE_LID" = $1 ORDER BY "R_START_DAY", "R_START_TIME" LIMIT 1`, ttsim.SampleResource).Scan(&day, &start)
	if err != nil {
		t.Fatalf("the role reading TT_AVAILABILITIES: %v", err)
	}
	if _, err := role.Exec(`SELECT 1 FROM tuotempo_sincro_data.reservations_tmp`); err == nil {
		t.Error("the role can read the bridge's private table")
	}
	_, err = role.Exec(`INSERT INTO tuotempo."TT_RESERVATIONS_TMP" ("APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID", "ACTIVITY_LID", "USER_TID", "USER_FIRST_NAME")
		VALUES ('TT-APP-1', 'ADD', $1, $2, $3, $4, 'TT-USER-9', 'Sincrina')`, day, start, ttsim.SampleResource, ttsim.SampleActivity)
	if err != nil {
		t.Fatalf("the role inserting into TT_RESERVATIONS_TMP: %v", err)
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var trigger, appLID string
	b.Wait("the row to be booked", func() bool {
		err := admin.QueryRow(`SELECT coalesce("STATUS_TRIGGER", ''), coalesce("APP_LID", '') FROM tuotempo_sincro_data.reservations_tmp WHERE "APP_TID" = 'TT-APP-1'`).Scan(&trigger, &appLID)
		return err == nil && trigger != ""
	})
	if !strings.HasPrefix(trigger, "OK") || appLID == "" {
		t.Fatalf("STATUS_TRIGGER %q, APP_LID %q", trigger, appLID)
	}
	b.Wait("the booking to reach the EHR", func() bool { return sb.EHR.Status("Appointment", appLID) == "booked" })
	var n int
	b.Wait("TT_RESERVATIONS to show it", func() bool {
		return role.QueryRow(`SELECT count(*) FROM tuotempo."TT_RESERVATIONS" WHERE "APP_LID" = $1`, appLID).Scan(&n) == nil && n == 1
	})
	if got := sb.EHR.Find("Patient", "urn:fhirbridge:tuotempo:user-tid", "TT-USER-9"); len(got) != 1 {
		t.Errorf("the EHR has %d patients for the new USER_TID, want 1", len(got))
	}
	b.Stop()
	b.NoCanary("Sincrina", "sincro-role-password")
}
