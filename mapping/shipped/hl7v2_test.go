package shipped

import (
	"regexp"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/casetest"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// v2Mappings are the shipped mappings of HL7 v2 messages.
var v2Mappings = []string{"hl7v2/siu-appointment", "hl7v2/adt-patient"}

// uuidURN is the form of a Bundle-local fullUrl.
var uuidURN = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestHL7v2Bundles: every Bundle the HL7 v2 mappings' cases expect is a
// valid R4 transaction without Bundle.identifier (the listener sets it);
// each entry is a conditional request the endpoint accepts, whose
// condition names an identifier the entry's resource carries (so that the
// next message about it finds it), and every urn:uuid reference names an
// entry of the Bundle.
func TestHL7v2Bundles(t *testing.T) {
	bundles := 0
	for _, name := range v2Mappings {
		cp, ok := CasesPath(name)
		if !ok {
			t.Fatalf("no cases beside %s", name)
		}
		cases, err := casetest.Parse(FS, cp)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			for _, b := range c.Expect {
				bundles++
				t.Run(name+"/"+c.Name, func(t *testing.T) { checkV2Bundle(t, b) })
			}
		}
	}
	if bundles < 20 {
		t.Errorf("only %d Bundles expected by the cases", bundles)
	}
}

func checkV2Bundle(t *testing.T, b *fhir.Value) {
	if oo := fhir.Validate(b, ""); oo != nil {
		t.Errorf("not valid R4: %s", oo.JSON())
	}
	if b.GetString("type") != "transaction" || b.Get("identifier") != nil {
		t.Errorf("want a transaction without identifier, got type %q identifier %v", b.GetString("type"), b.Get("identifier") != nil)
	}
	entries := b.Get("entry")
	if entries == nil || len(entries.Items) == 0 {
		t.Fatal("no entries")
	}
	full := map[string]bool{}
	for i, e := range entries.Items {
		u := e.GetString("fullUrl")
		if !uuidURN.MatchString(u) || full[u] {
			t.Errorf("entry %d: fullUrl %q is not a new urn:uuid", i, u)
		}
		full[u] = true
	}
	for i, e := range entries.Items {
		res, req := e.Get("resource"), e.Get("request")
		typ := res.ResourceType()
		var query string
		switch method, url := req.GetString("method"), req.GetString("url"); method {
		case "PUT":
			q, ok := strings.CutPrefix(url, typ+"?")
			if !ok {
				t.Errorf("entry %d: PUT %q is not a conditional update of %s", i, url, typ)
				continue
			}
			query = q
		case "POST":
			if url != typ {
				t.Errorf("entry %d: POST to %q, want %s", i, url, typ)
			}
			query = req.GetString("ifNoneExist")
		default:
			t.Errorf("entry %d: method %q", i, method)
			continue
		}
		cond, err := server.ParseCondition(query)
		if err != nil {
			t.Errorf("entry %d: condition %q refused: %v", i, query, err)
			continue
		}
		if !holdsOne(res, cond.Identifiers) {
			t.Errorf("entry %d: the %s does not carry the identifier its condition %q names", i, typ, query)
		}
		walkRefs(res, func(ref string) {
			if strings.HasPrefix(ref, "urn:uuid:") && !full[ref] {
				t.Errorf("entry %d: reference %s names no entry", i, ref)
			}
		})
	}
}

// holdsOne reports whether res carries one of ids.
func holdsOne(res *fhir.Value, ids []server.Identifier) bool {
	list := res.Get("identifier")
	if list == nil {
		return false
	}
	for _, id := range list.Items {
		for _, want := range ids {
			if id.GetString("system") == want.System && id.GetString("value") == want.Value {
				return true
			}
		}
	}
	return false
}

// walkRefs calls f with every Reference.reference under v.
func walkRefs(v *fhir.Value, f func(string)) {
	switch v.Kind {
	case fhir.Object:
		for _, m := range v.Members {
			if m.Key == "reference" && m.Value.Kind == fhir.String {
				f(m.Value.Str)
			}
			walkRefs(m.Value, f)
		}
	case fhir.Array:
		for _, it := range v.Items {
			walkRefs(it, f)
		}
	}
}

// TestHL7v2ErrorLocations: a message the mappings refuse gives an error
// whose v2 location (for the ACK's ERR-2) is the field at fault, and no
// value of the message.
func TestHL7v2ErrorLocations(t *testing.T) {
	const (
		siuMSH = "MSH|^~\\&|SCHEDSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207091500||SIU^S12^SIU_S12|SCH9|P|2.5.1\r"
		adtMSH = "MSH|^~\\&|ADTSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207081500||ADT^A01^ADT_A01|ADT9|P|2.5.1\r"
		pid    = "PID|1||SECRETMRN^^^NORTHCLINIC&2.16.840.1.113883.3.9999.1&ISO^MR||Secretname^Alba||19850312|F\r"
		pv1    = "PV1|1|I|WARD-2||||||||||||||||SECRETVISIT\r"
	)
	for _, tc := range []struct {
		name, mapping, msg, want string
	}{
		{"filler status outside table 0278", "hl7v2/siu-appointment",
			siuMSH + "SCH|SECRETAPPT" + strings.Repeat("|", 10) + "^^^202612081000+0100" + strings.Repeat("|", 14) + "Tentative\r" + pid, "SCH-25"},
		{"malformed start", "hl7v2/siu-appointment",
			siuMSH + "SCH|SECRETAPPT" + strings.Repeat("|", 10) + "^^^2026120810XX+0100\r" + pid, "SCH-11[1].4"},
		{"no appointment id", "hl7v2/siu-appointment",
			siuMSH + "SCH|" + strings.Repeat("|", 10) + "^^^202612081000+0100\r" + pid, "SCH-1"},
		{"patient without usable id", "hl7v2/siu-appointment",
			siuMSH + "SCH|SECRETAPPT\rPID|1||SECRETMRN^^^REGION^NH||Secretname^Alba\r", "PID-3"},
		{"unknown sex", "hl7v2/adt-patient",
			adtMSH + strings.Replace(pid, "|F\r", "|X\r", 1) + pv1, "PID-8"},
		{"malformed birth date", "hl7v2/adt-patient",
			adtMSH + strings.Replace(pid, "19850312", "19851312", 1) + pv1, "PID-7"},
		{"patient class outside the guide's table", "hl7v2/adt-patient",
			adtMSH + pid + strings.Replace(pv1, "|I|", "|R|", 1), "PV1-2"},
		{"no visit number", "hl7v2/adt-patient",
			adtMSH + pid + "PV1|1|I|WARD-2\r", "PV1-19"},
		{"patient merged into itself", "hl7v2/adt-patient",
			strings.Replace(adtMSH, "A01^ADT_A01", "A40^ADT_A39", 1) + pid + "MRG|SECRETMRN^^^NORTHCLINIC&2.16.840.1.113883.3.9999.1&ISO^MR\r", "MRG-1"},
		{"merged patient without usable id", "hl7v2/adt-patient",
			strings.Replace(adtMSH, "A01^ADT_A01", "A40^ADT_A39", 1) + pid + "MRG|SECRETOLD^^^REGION^NH\r", "MRG-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := Path(tc.mapping)
			m, err := mapping.Load(FS, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := hl7v2.Parse([]byte(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.ReverseMessage(msg)
			if err == nil {
				t.Fatalf("mapped to %s, want an error", out.JSON())
			}
			if got := mapping.V2Location(err); got != tc.want {
				t.Errorf("V2Location = %q, want %q (%v)", got, tc.want, err)
			}
			if s := err.Error(); strings.Contains(s, "SECRET") || strings.Contains(s, "Secretname") || strings.Contains(s, "1985") {
				t.Errorf("the error shows a value of the message: %s", s)
			}
		})
	}
}
