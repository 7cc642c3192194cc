package mapping

import (
	"errors"
	"testing"
)

const eachMapping = `name: t/each
version: 1
source: PractitionerRole
params:
  skip: {default: ""}
vars:
  - name: prac
    from: practitioner.reference.replaceMatches('^Practitioner/', '')
each: healthcareService
when: "%skip = '' or %item.reference != %skip"
fields:
  - target: RESOURCE_LID
    from: "%prac"
  - target: ACTIVITY_LID
    from: "%item.reference.replaceMatches('^HealthcareService/', '')"
    required: true
`

const roleJSON = `{"resourceType":"PractitionerRole","id":"r1",
 "practitioner":{"reference":"Practitioner/p1"},
 "healthcareService":[{"reference":"HealthcareService/a"},{"reference":"HealthcareService/b"},{"display":"no reference"}]}`

// TestApplyAllEach: a mapping with each gives one record per item, with
// %item bound and when evaluated per item; a required field empty for one
// item fails the resource.
func TestApplyAllEach(t *testing.T) {
	for _, c := range []struct {
		name    string
		skip    string
		role    string
		want    []string
		wantErr bool
	}{
		{name: "item without reference is refused", role: roleJSON, wantErr: true},
		{name: "every item kept", skip: "", role: `{"resourceType":"PractitionerRole","practitioner":{"reference":"Practitioner/p1"},"healthcareService":[{"reference":"HealthcareService/a"},{"reference":"HealthcareService/b"}]}`, want: []string{"a", "b"}},
		{name: "when skips b", skip: "HealthcareService/b", role: `{"resourceType":"PractitionerRole","practitioner":{"reference":"Practitioner/p1"},"healthcareService":[{"reference":"HealthcareService/a"},{"reference":"HealthcareService/b"}]}`, want: []string{"a"}},
		{name: "no items, no records", role: `{"resourceType":"PractitionerRole","practitioner":{"reference":"Practitioner/p1"}}`},
		{name: "other type, no records", role: `{"resourceType":"Patient"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := mustParse(t, eachMapping, map[string]string{"skip": c.skip})
			recs, err := m.ApplyAll(mustJSON(t, c.role), nil, nil)
			if (err != nil) != c.wantErr {
				t.Fatalf("ApplyAll error = %v, want error %v", err, c.wantErr)
			}
			if len(recs) != len(c.want) {
				t.Fatalf("ApplyAll gave %d records, want %d", len(recs), len(c.want))
			}
			for i, w := range c.want {
				if got := recs[i].GetString("ACTIVITY_LID"); got != w || recs[i].GetString("RESOURCE_LID") != "p1" {
					t.Errorf("record %d = %s/%s, want p1/%s", i, recs[i].GetString("RESOURCE_LID"), got, w)
				}
			}
		})
	}
	m := mustParse(t, eachMapping, nil)
	if _, err := m.ApplyIn(mustJSON(t, roleJSON), nil, nil); !errors.Is(err, ErrEach) {
		t.Errorf("ApplyIn on an each mapping = %v, want ErrEach", err)
	}
	if !m.Each() {
		t.Error("Each() = false for a mapping with each")
	}
}

// TestEachCompileErrors: each is forward-only and %item may not be taken.
func TestEachCompileErrors(t *testing.T) {
	for _, src := range []string{
		"name: r\nversion: 1\nsource: x\ndirection: reverse\nresource: Patient\neach: a\nfields:\n  - {target: id, from: A}\n",
		"name: r\nversion: 1\nsource: Patient\nparams:\n  item: {default: x}\neach: name\nfields:\n  - {target: A, from: id}\n",
		"name: r\nversion: 1\nsource: Patient\neach: name.(\nfields:\n  - {target: A, from: id}\n",
	} {
		if _, err := Parse("m.yaml", []byte(src), nil, ".", nil); err == nil {
			t.Errorf("Parse accepted:\n%s", src)
		}
	}
}
