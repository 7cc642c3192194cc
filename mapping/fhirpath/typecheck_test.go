package fhirpath

import (
	"errors"
	"testing"
	"time"
)

// typeCases are expressions compiled against an R4 context: want is the
// inferred type when accepted, or the error message (and suggestion) when
// refused.
var typeCases = []struct {
	ctx, expr   string
	want        string // inferred type when accepted
	wantErr     string // message when refused
	wantSuggest string
}{
	{ctx: "Appointment", expr: "start", want: "instant"},
	{ctx: "Appointment", expr: "strat", wantErr: "R4 Appointment has no element strat (did you mean start?)", wantSuggest: "start"},
	{ctx: "Appointment", expr: "Appointment.start", want: "instant"},
	{ctx: "Appointment", expr: "participant.actor", want: "Reference"},
	{ctx: "Appointment", expr: "participant.actr", wantErr: "R4 Appointment.Participant has no element actr (did you mean actor?)", wantSuggest: "actor"},
	{ctx: "Appointment", expr: "participant.where(actr.exists()).first()", wantErr: "R4 Appointment.Participant has no element actr (did you mean actor?)", wantSuggest: "actor"},
	{ctx: "Appointment", expr: "participant.where(actor.exists()).first()", want: "Appointment.Participant"},
	{ctx: "Appointment", expr: "status", want: "code"},
	{ctx: "Appointment", expr: "status.extension", want: "Extension"},
	{ctx: "Appointment", expr: "start.extension.url", want: "uri"},
	{ctx: "Appointment", expr: "modifierExtension.value", want: ""},
	{ctx: "Appointment", expr: "extension('http://example.org/x').valueString", want: "string"},
	{ctx: "Appointment", expr: "participant.actor.resolve().name", want: ""},
	{ctx: "Appointment", expr: "participant.actor.resolve().ofType(Patient).name.family", want: "string"},
	{ctx: "Appointment", expr: "participant.actor.resolve().ofType(Patient).nme", wantErr: "R4 Patient has no element nme (did you mean name?)", wantSuggest: "name"},
	{ctx: "Appointment", expr: "(participant.actor.resolve() as Practitioner).qualification.code", want: "CodeableConcept"},
	{ctx: "Appointment", expr: "contained.ofType(FHIR.Patient).birthDate", want: "date"},
	{ctx: "Appointment", expr: "contained.anything", want: ""},
	{ctx: "Observation", expr: "value", want: ""},
	{ctx: "Observation", expr: "value.ofType(Quantity).unit", want: "string"},
	{ctx: "Observation", expr: "valueQuantity.unit", want: "string"},
	{ctx: "Observation", expr: "valueQuantity.unt", wantErr: "R4 Quantity has no element unt (did you mean unit?)", wantSuggest: "unit"},
	{ctx: "Observation", expr: "valueStrng", wantErr: "R4 Observation has no element valueStrng (did you mean valueString?)", wantSuggest: "valueString"},
	{ctx: "Observation", expr: "component.code.coding.system", want: "uri"},
	{ctx: "Patient", expr: "name.select(given.first() + ' ' + family)", want: ""},
	{ctx: "Patient", expr: "name.select(famly)", wantErr: "R4 HumanName has no element famly (did you mean family?)", wantSuggest: "family"},
	{ctx: "Patient", expr: "name | name", want: "HumanName"},
	{ctx: "Patient", expr: "resourceType", want: ""},
	{ctx: "Patient", expr: "Patient.xyzzy", wantErr: "R4 Patient has no element xyzzy"},
	{ctx: "Patient", expr: "%resource.anything", want: ""},
	{ctx: "Patient", expr: "iif(active, name, name)", want: ""},
	{ctx: "Patient", expr: "birthDate.toString().substring(0, 4)", want: ""},
	{ctx: "Patient", expr: "Appointment.start", want: ""},
}

func TestTypeCheck(t *testing.T) {
	for _, tc := range typeCases {
		t.Run(tc.ctx+"/"+tc.expr, func(t *testing.T) {
			e, err := Compile(tc.expr, Options{Context: tc.ctx})
			if tc.wantErr != "" {
				var fe *Error
				if !errors.As(err, &fe) || !errors.Is(err, ErrUnknownElement) {
					t.Fatalf("Compile: %v, want ErrUnknownElement", err)
				}
				if fe.Msg != tc.wantErr {
					t.Errorf("message %q, want %q", fe.Msg, tc.wantErr)
				}
				if fe.Unknown == nil || fe.Unknown.Suggestion != tc.wantSuggest {
					t.Errorf("suggestion %+v, want %q", fe.Unknown, tc.wantSuggest)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if e.Type() != tc.want {
				t.Errorf("type %q, want %q", e.Type(), tc.want)
			}
		})
	}
}

// TestTypeCheckColumn: the error points at the misspelt name.
func TestTypeCheckColumn(t *testing.T) {
	_, err := Compile("participant.actr", Options{Context: "Appointment"})
	var fe *Error
	if !errors.As(err, &fe) || fe.Col != 13 {
		t.Fatalf("err %v, want column 13", err)
	}
}

// TestR4ModelCoverage: the model reflects every R4 resource and the
// shapes FHIRPath needs.
func TestR4ModelCoverage(t *testing.T) {
	start := time.Now()
	m := buildR4()
	t.Logf("built %d R4 types in %v", len(m), time.Since(start))
	res := 0
	for _, name := range []string{"Patient", "Appointment", "Observation", "Bundle", "Encounter", "ServiceRequest", "Practitioner", "Schedule", "Slot", "Parameters"} {
		if m[name] == nil {
			t.Errorf("no type %s", name)
		}
	}
	for name, tt := range m {
		if _, ok := tt.elems["extension"]; ok {
			res++
		} else if name != "Binary" && name != "Bundle" && name != "Parameters" { // Resource, not DomainResource
			t.Errorf("%s has no extension", name)
		}
	}
	if p := m["string"]; p == nil || !p.primitive {
		t.Errorf("string is not a primitive: %+v", p)
	}
	if el := m["Patient"].elems["name"]; el.typ != "HumanName" || !el.many {
		t.Errorf("Patient.name = %+v", el)
	}
	if el := m["Patient"].elems["gender"]; el.typ != "code" || el.many {
		t.Errorf("Patient.gender = %+v", el)
	}
	if len(m) < 400 {
		t.Errorf("%d types, %d with extension", len(m), res)
	}
}

// TestStrict: strict mode refuses what FHIRPath's strict mode refuses.
func TestStrict(t *testing.T) {
	for _, tc := range []struct {
		ctx, expr string
		ok        bool
	}{
		{"Observation", "Observation.valueQuantity.unit", false},
		{"Observation", "Observation.value.ofType(Quantity).unit", true},
		{"Patient", "Encounter.name.given", false},
		{"Patient", "Patient.name.given", true},
		{"Patient", "Patient.children().skip(1)", false},
		{"Patient", "Patient.children()[0]", false},
		{"Patient", "Patient.children().count()", true},
		{"Observation", "(Observation.value as Period).unit", false},
	} {
		_, err := Compile(tc.expr, Options{Context: tc.ctx, Strict: true})
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrUnknownElement)) {
			t.Errorf("%s on %s: err %v, want ok=%v", tc.expr, tc.ctx, err, tc.ok)
		}
	}
}

// FuzzTypeCheck: checking against the R4 model never panics and only
// refuses more than compiling without a context.
func FuzzTypeCheck(f *testing.F) {
	for _, s := range []string{"name.given", "participant.actor.resolve().ofType(Patient).name", "value.as(Quantity).unit",
		"children().skip(1)", "`a`.b", "extension('x').valueString", "Patient.name[0].family", "(name | telecom).first()"} {
		f.Add(s, "Patient", false)
		f.Add(s, "Appointment", true)
	}
	f.Fuzz(func(t *testing.T, expr, ctx string, strict bool) {
		if !R4Known(ctx) {
			return
		}
		_, errCtx := Compile(expr, Options{Context: ctx, Strict: strict})
		_, errPlain := Compile(expr, Options{})
		if errCtx == nil && errPlain != nil {
			t.Fatalf("%q accepted on %s but refused without a context: %v", expr, ctx, errPlain)
		}
	})
}
