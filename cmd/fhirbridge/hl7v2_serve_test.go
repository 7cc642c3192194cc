package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// mllpAck sends one message to addr over MLLP and returns its ACK's MSA-1
// and ERR-2 (the error location, "" for none).
func mllpAck(t *testing.T, addr, msg string) (code, errLoc string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if err := mllp.WriteFrame(c, []byte(strings.ReplaceAll(msg, "\n", "\r"))); err != nil {
		t.Fatal(err)
	}
	raw, err := mllp.NewReader(bufio.NewReader(c), 1<<20).ReadFrame()
	if err != nil {
		t.Fatalf("no ACK: %v", err)
	}
	ack, err := hl7v2.Parse(raw)
	if err != nil {
		t.Fatalf("the ACK does not parse: %v", err)
	}
	code, _ = ack.Get("MSA-1")
	if e := ack.Segment("ERR", 1); e != nil {
		errLoc = e.Raw(2)
	}
	return code, errLoc
}

// searchFHIR runs a search on serve and returns the matching resources.
func searchFHIR(t *testing.T, base, typ, query string) []map[string]any {
	t.Helper()
	var b struct {
		Entry []struct{ Resource map[string]any }
	}
	if err := json.Unmarshal([]byte(send(t, "GET", base+"/fhir/"+typ+"?"+query, "", http.StatusOK)), &b); err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(b.Entry))
	for i, e := range b.Entry {
		out[i] = e.Resource
	}
	return out
}

// siuMessage is a realistic SIU of event for appointment APT-HL7-1 of
// patient MRN-HL7-1 (synthetic), starting at start for 30 minutes, with
// control id control.
func siuMessage(event, control string, start time.Time) string {
	ts := start.UTC().Format("200601021504") + "+0000"
	return "MSH|^~\\&|SCHEDSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207091500||SIU^" + event + "^SIU_S12|" + control + "|P|2.5.1|||AL|NE\n" +
		"SCH|APT-HL7-1^SCHEDSYS|FIL-HL7-1^AGENDA|||||FOLLOWUP^Follow-up visit^HL70276|Normal^Routine^HL70277|30|min|^^30^" + ts + "\n" +
		"PID|1||MRN-HL7-1^^^NORTHCLINIC^MR||Canariaseis^Alba^^^Ms^^L||19850312|F|||Calle Ficticia 12^^Valencia^^46001^ES^H||^PRN^PH^^34^961^234567\n" +
		"RGS|1|A\n" +
		"AIS|1|A|CONS-FU^Follow-up consultation^L|" + ts + "|||30|min\n" +
		"AIP|1|A|D-1001^Ficticio^Jorge^^^Dr^MD^^NORTHCLINIC|ATND^Attending||" + ts + "|||30|min\n" +
		"AIL|1|A|CONS-3^^^NORTHCLINIC^^^^^Consulting room 3|ROOM^Room\n"
}

// adtMessage is an ADT of event with the given PID (and optional MRG).
func adtMessage(event, control, pid, mrg string) string {
	m := "MSH|^~\\&|ADTSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207091500||ADT^" + event + "^ADT_A01|" + control + "|P|2.5.1\n" +
		"EVN|" + event + "|20261207091500\n" + pid + "\n"
	if mrg != "" {
		m += mrg + "\n"
	}
	return m + "PV1|1|O|CONS-3^^^NORTHCLINIC||||D-1001^Ficticio^Jorge||||||||||||V-HL7-" + control + "\n"
}

// TestServeHL7v2SIUToSolo is the end-to-end case: a realistic
// SIU^S12, then S14 (moved), then S15 (cancelled) for one appointment,
// sent over MLLP to serve with the shipped hl7v2/siu-appointment mapping,
// are each acknowledged AA and leave one Appointment in the store,
// cancelled, which Solo received as a create, an update and a
// cancellation, in that order. No patient value reaches the log.
func TestServeHL7v2SIUToSolo(t *testing.T) {
	mllpAddr := freeAddr(t)
	b := startBridge(t, "connectors:\n  $SOLO\n"+soloRoutes+"hl7v2:\n  listen: \""+mllpAddr+"\"\n  params: {zone: Europe/Madrid}\n")
	sim := b.Sim
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)

	if code, loc := mllpAck(t, mllpAddr, siuMessage("S12", "SIU-0001", start)); code != "AA" {
		t.Fatalf("S12: %s at %q, want AA", code, loc)
	}
	appts := searchFHIR(t, b.Base, "Appointment", "identifier="+url.QueryEscape("urn:fhirbridge:hl7v2:placer-appointment|APT-HL7-1"))
	if len(appts) != 1 {
		t.Fatalf("%d Appointments after S12, want 1", len(appts))
	}
	id, _ := appts[0]["id"].(string)
	b.Wait("the appointment at Solo", func() bool { _, ok := soloAppointment(sim, id); return ok })

	moved := start.Add(2 * time.Hour)
	if code, loc := mllpAck(t, mllpAddr, siuMessage("S14", "SIU-0002", moved)); code != "AA" {
		t.Fatalf("S14: %s at %q, want AA", code, loc)
	}
	b.Wait("the appointment moved at Solo", func() bool {
		a, _ := soloAppointment(sim, id)
		return a.Date == moved.Unix()
	})
	if code, loc := mllpAck(t, mllpAddr, siuMessage("S15", "SIU-0003", moved)); code != "AA" {
		t.Fatalf("S15: %s at %q, want AA", code, loc)
	}
	b.Wait("the appointment cancelled at Solo", func() bool {
		a, _ := soloAppointment(sim, id)
		return a.Status == "cancelled"
	})

	appts = searchFHIR(t, b.Base, "Appointment", "identifier="+url.QueryEscape("urn:fhirbridge:hl7v2:placer-appointment|APT-HL7-1"))
	if len(appts) != 1 || appts[0]["id"] != id || appts[0]["status"] != "cancelled" {
		t.Fatalf("after S15: %d Appointments (want 1, id %s, cancelled): %v", len(appts), id, appts)
	}
	if n := len(sim.Appointments()); n != 1 {
		t.Fatalf("%d appointments at Solo, want 1", n)
	}
	// Solo saw the appointment created, then updated, then cancelled
	var calls []string
	for _, r := range sim.Requests() {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/appointments"):
			calls = append(calls, "create")
		case r.Method == http.MethodPut && strings.HasPrefix(r.Path, "/qapi/v1/appointments/"):
			calls = append(calls, "put")
		}
	}
	if len(calls) < 3 || calls[0] != "create" || calls[len(calls)-1] != "put" {
		t.Fatalf("appointment calls at Solo %v, want a create, then the update and the cancellation", calls)
	}
	for _, c := range calls[1:] {
		if c != "put" {
			t.Fatalf("appointment calls at Solo %v: a second create", calls)
		}
	}
	b.Stop()
	b.NoCanary("Canariaseis", "MRN-HL7-1", "19850312", "1985-03-12", "961 234567", "SIU-0001")
}

// TestServeHL7v2ADT: through serve with the shipped hl7v2/adt-patient
// mapping, an ADT^A04 then an A08 update one Patient; the same A04 sent
// again is stored once; an A40 merges a second patient into the first
// (the merged one keeps its data, becomes inactive, and both are linked);
// a message with a malformed birth date gets AE naming PID-7 and stores
// nothing.
func TestServeHL7v2ADT(t *testing.T) {
	mllpAddr := freeAddr(t)
	b := startBridge(t, "hl7v2:\n  listen: \""+mllpAddr+"\"\n")
	pid1 := func(family string) string {
		return "PID|1||MRN-ADT-1^^^NORTHCLINIC^MR||" + family + "^Bea^^^^^L||19700101|F|||Calle Uno 1^^Valencia^^46001^ES^H"
	}
	const mrnQuery = "identifier=urn%3Afhirbridge%3Ahl7v2%3Apatient%7C"
	a04 := adtMessage("A04", "ADT-0001", pid1("Primeraprueba"), "")
	for i := range 2 { // the second is a sender's retry
		if code, loc := mllpAck(t, mllpAddr, a04); code != "AA" {
			t.Fatalf("A04 (send %d): %s at %q, want AA", i+1, code, loc)
		}
	}
	pats := searchFHIR(t, b.Base, "Patient", mrnQuery+"MRN-ADT-1")
	if len(pats) != 1 {
		t.Fatalf("%d Patients after A04, want 1", len(pats))
	}
	id, _ := pats[0]["id"].(string)
	var hist struct{ Entry []any }
	_ = json.Unmarshal([]byte(send(t, "GET", b.Base+"/fhir/Patient/"+id+"/_history", "", http.StatusOK)), &hist)
	if len(hist.Entry) != 1 {
		t.Fatalf("%d versions after the A04 and its retry, want 1", len(hist.Entry))
	}

	if code, loc := mllpAck(t, mllpAddr, adtMessage("A08", "ADT-0002", pid1("Segundaprueba"), "")); code != "AA" {
		t.Fatalf("A08: %s at %q, want AA", code, loc)
	}
	pats = searchFHIR(t, b.Base, "Patient", mrnQuery+"MRN-ADT-1")
	if len(pats) != 1 || pats[0]["id"] != id || !strings.Contains(mustJSONText(t, pats[0]["name"]), "Segundaprueba") {
		t.Fatalf("after A08: %d Patients, want the one Patient %s renamed", len(pats), id)
	}

	// a second record of the same person, then an A40 merging it into the first
	pid2 := "PID|1||MRN-ADT-2^^^NORTHCLINIC^MR||Duplicada^Bea^^^^^L||19700101|F|||Calle Dos 2^^Valencia^^46002^ES^H"
	if code, loc := mllpAck(t, mllpAddr, adtMessage("A04", "ADT-0003", pid2, "")); code != "AA" {
		t.Fatalf("A04 of the duplicate: %s at %q", code, loc)
	}
	a40 := "MSH|^~\\&|ADTSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207093000||ADT^A40^ADT_A39|ADT-0004|P|2.5.1\n" +
		"EVN|A40|20261207093000\n" + pid1("Segundaprueba") + "\nMRG|MRN-ADT-2^^^NORTHCLINIC^MR\n"
	if code, loc := mllpAck(t, mllpAddr, a40); code != "AA" {
		t.Fatalf("A40: %s at %q, want AA", code, loc)
	}
	merged := searchFHIR(t, b.Base, "Patient", mrnQuery+"MRN-ADT-2")
	if len(merged) != 1 {
		t.Fatalf("%d merged Patients, want 1", len(merged))
	}
	m := merged[0]
	if m["active"] != false || m["birthDate"] != "1970-01-01" || !strings.Contains(mustJSONText(t, m["address"]), "Calle Dos 2") ||
		!strings.Contains(mustJSONText(t, m["link"]), "replaced-by") || !strings.Contains(mustJSONText(t, m["link"]), "Patient/"+id) {
		t.Fatalf("the merged Patient lost data or links: active %v, birthDate %v, link %s", m["active"], m["birthDate"], mustJSONText(t, m["link"]))
	}
	survivor := searchFHIR(t, b.Base, "Patient", mrnQuery+"MRN-ADT-1")
	if len(survivor) != 1 || !strings.Contains(mustJSONText(t, survivor[0]["link"]), "replaces") {
		t.Fatalf("the surviving Patient has no replaces link: %v", survivor)
	}

	// a malformed birth date: AE at PID-7, nothing stored
	bad := adtMessage("A04", "ADT-0005", "PID|1||MRN-ADT-3^^^NORTHCLINIC^MR||Malformada^Bea||19701399|F", "")
	code, loc := mllpAck(t, mllpAddr, bad)
	if code != "AE" || !strings.HasPrefix(loc, "PID^1^7") {
		t.Fatalf("malformed PID-7: %s at %q, want AE at PID^1^7", code, loc)
	}
	if n := len(searchFHIR(t, b.Base, "Patient", mrnQuery+"MRN-ADT-3")); n != 0 {
		t.Fatalf("%d Patients stored from a refused message, want 0", n)
	}
	b.Stop()
	b.NoCanary("Primeraprueba", "Segundaprueba", "Duplicada", "Malformada", "MRN-ADT-", "19700101", "1970-01-01", "Calle Uno")
}

// mustJSONText is v as JSON text, for substring checks.
func mustJSONText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServeMLLPSend: Debian python3-hl7's mllp_send, an MLLP client of
// another code base, sends a file of ADT and SIU messages to serve; every
// message is acknowledged AA and what they carry is stored. Skipped when
// mllp_send is missing, unless FHIRBRIDGE_REQUIRE_HL7=1 (as in CI).
func TestServeMLLPSend(t *testing.T) {
	sendPath, err := exec.LookPath("mllp_send")
	if err == nil {
		// the script's own interpreter must have the hl7 package
		err = exec.Command(sendPath, "--help").Run()
	}
	if err != nil {
		if os.Getenv("FHIRBRIDGE_REQUIRE_HL7") == "1" {
			t.Fatalf("FHIRBRIDGE_REQUIRE_HL7=1 but python3 hl7 / mllp_send is missing: %v", err)
		}
		t.Skip("python3 hl7 package (mllp_send) not installed")
	}
	mllpAddr := freeAddr(t)
	b := startBridge(t, "hl7v2:\n  listen: \""+mllpAddr+"\"\n")
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	msgs := []string{
		adtMessage("A04", "PY-1", "PID|1||MRN-PY-1^^^NORTHCLINIC^MR||Pythonsend^Ana||19800101|F", ""),
		adtMessage("A08", "PY-2", "PID|1||MRN-PY-1^^^NORTHCLINIC^MR||Pythonsend^Ana^Maria||19800101|F", ""),
		adtMessage("A04", "PY-3", "PID|1||MRN-PY-2^^^NORTHCLINIC^MR||Pythonsend^Luis||19810202|M", ""),
		siuMessage("S12", "PY-4", start),
		siuMessage("S14", "PY-5", start.Add(time.Hour)),
		siuMessage("S15", "PY-6", start.Add(time.Hour)),
	}
	var file bytes.Buffer
	for _, m := range msgs {
		if err := mllp.WriteFrame(&file, []byte(strings.ReplaceAll(m, "\n", "\r"))); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "messages.hl7")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(mllpAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sendPath, "--file", path, "--port", port, "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("mllp_send: %v\n%s", err, out)
	}
	for i := range msgs {
		if !strings.Contains(string(out), fmt.Sprintf("MSA|AA|PY-%d", i+1)) {
			t.Errorf("no AA for message %d in mllp_send's output:\n%q", i+1, out)
		}
	}
	if n := strings.Count(string(out), "MSA|"); n != len(msgs) {
		t.Errorf("%d ACKs, want %d", n, len(msgs))
	}
	const q = "identifier=urn%3Afhirbridge%3Ahl7v2%3Apatient%7C"
	if n := len(searchFHIR(t, b.Base, "Patient", q+"MRN-PY-1")) + len(searchFHIR(t, b.Base, "Patient", q+"MRN-PY-2")); n != 2 {
		t.Errorf("%d Patients stored, want 2", n)
	}
	appts := searchFHIR(t, b.Base, "Appointment", "identifier="+url.QueryEscape("urn:fhirbridge:hl7v2:placer-appointment|APT-HL7-1"))
	if len(appts) != 1 || appts[0]["status"] != "cancelled" {
		t.Errorf("want one cancelled Appointment, got %v", appts)
	}
}
