package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// untouchedBackend counts every call: $validate must make none.
type untouchedBackend struct{ calls atomic.Int64 }

var errUntouched = errors.New("the backend must not be called")

func (b *untouchedBackend) Commit(context.Context, *server.Request) (*server.Result, error) {
	b.calls.Add(1)
	return nil, errUntouched
}

func (b *untouchedBackend) Read(context.Context, string, string) ([]byte, int, error) {
	b.calls.Add(1)
	return nil, 0, errUntouched
}

func (b *untouchedBackend) Seen(context.Context, string, string) (int, []byte, bool, error) {
	b.calls.Add(1)
	return 0, nil, false, errUntouched
}

func (b *untouchedBackend) Ready(context.Context) error { return nil }

// validateInput is one file given to both `fhirbridge validate` and
// POST /fhir/{type}/$validate.
type validateInput struct {
	name, typ string
	data      []byte
}

// TestValidateOperationMatchesCLI gives the same bytes to the CLI
// (`fhirbridge validate --json`) and to the endpoint's $validate, and
// checks they say the same: the shipped fixtures (fixtures/r4,
// fixtures/demo, fixtures/fhirpath), each also with an unknown element
// added, hand-made invalid resources and Bundles, and the inputs kept in
// fhir/testdata (which are not JSON: the endpoint answers those 400 with
// the same issue the CLI prints).
func TestValidateOperationMatchesCLI(t *testing.T) {
	inputs := validateInputs(t)
	types := map[string]bool{}
	for _, in := range inputs {
		if in.typ != "" && in.typ != "Bundle" {
			types[in.typ] = true
		}
	}
	served := make([]string, 0, len(types))
	for typ := range types {
		served = append(served, typ)
	}
	sort.Strings(served)
	b := &untouchedBackend{}
	h := server.New(b, server.Options{Types: served, Logger: slog.New(slog.DiscardHandler)})

	valid, invalid, unparsable := 0, 0, 0
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			out, stderr, code := run(t, string(in.data), "validate", "--in", "-", "--json")
			if code != 0 && code != 1 {
				t.Fatalf("CLI exit %d: %s", code, stderr)
			}
			cli := cliIssues(t, out)

			path := "/fhir/$validate"
			if in.typ != "" && in.typ != "Bundle" {
				path = "/fhir/" + in.typ + "/$validate"
			}
			r := httptest.NewRequest("POST", path, strings.NewReader(string(in.data)))
			r.Header.Set("Content-Type", "application/fhir+json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			api := outcomeIssues(t, w.Body.Bytes())

			switch {
			case in.typ == "":
				unparsable++
				if w.Code != http.StatusBadRequest || code != 1 {
					t.Fatalf("unparsable input: $validate %d, CLI exit %d", w.Code, code)
				}
			case w.Code != http.StatusOK:
				t.Fatalf("$validate %d: %s", w.Code, w.Body)
			case code == 0:
				valid++
				if len(api) != 0 || !strings.Contains(w.Body.String(), `"severity":"information"`) {
					t.Errorf("the CLI says valid, $validate answers %s", w.Body)
				}
			default:
				invalid++
			}
			if strings.Join(api, "\n") != strings.Join(cli, "\n") {
				t.Errorf("issues differ\n$validate: %q\n      CLI: %q", api, cli)
			}
		})
	}
	if n := b.calls.Load(); n != 0 {
		t.Errorf("$validate called the backend %d times", n)
	}
	t.Logf("%d valid, %d invalid, %d unparsable inputs", valid, invalid, unparsable)
	if valid < 50 || invalid < 50 || unparsable < 2 {
		t.Errorf("too few cases: %d valid, %d invalid, %d unparsable", valid, invalid, unparsable)
	}
}

// validateInputs gathers the inputs of TestValidateOperationMatchesCLI.
func validateInputs(t *testing.T) []validateInput {
	t.Helper()
	root := repoRoot(t)
	var files []string
	for _, dir := range []string{"fixtures/r4", "fixtures/demo", "fixtures/fhirpath"} {
		m, err := filepath.Glob(filepath.Join(root, dir, "*.json"))
		if err != nil || len(m) == 0 {
			t.Fatalf("no fixtures in %s: %v", dir, err)
		}
		files = append(files, m...)
	}
	var inputs []validateInput
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := fhir.Decode(data, fhir.DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		typ := v.ResourceType()
		if typ == "Parameters" {
			continue // $validate reads a Parameters body as its parameters
		}
		name, _ := filepath.Rel(root, f)
		inputs = append(inputs, validateInput{name, typ, data})
		v.Set("colour", fhir.NewNumber("1"))
		inputs = append(inputs, validateInput{name + "+unknown", typ, v.JSON()})
	}
	handMade := []validateInput{
		{"bad status", "Appointment", []byte(`{"resourceType":"Appointment","status":"maybe","participant":[{"status":"accepted"}]}`)},
		{"no status", "Appointment", []byte(`{"resourceType":"Appointment","participant":[{"status":"accepted"}]}`)},
		{"bad date", "Patient", []byte(`{"resourceType":"Patient","birthDate":"1970-02-30"}`)},
		{"bad id", "Patient", []byte(`{"resourceType":"Patient","id":".."}`)},
		{"no resourceType", "Patient", []byte(`{"id":"p1"}`)},
		{"transaction with a bad entry", "Bundle", []byte(`{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","gender":"x"},"request":{"method":"POST","url":"Patient"}},` +
			`{"resource":{"resourceType":"Patient"},"request":{"method":"FETCH"}}]}`)},
		{"batch with a dangling reference", "Bundle", []byte(`{"resourceType":"Bundle","type":"batch","entry":[` +
			`{"resource":{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000009"},"status":"accepted"}]},"request":{"method":"POST","url":"Appointment"}}]}`)},
		{"Bundle without type", "Bundle", []byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`)},
	}
	inputs = append(inputs, handMade...)
	corpus, err := filepath.Glob(filepath.Join(root, "fhir", "testdata", "fuzz", "*", "*"))
	if err != nil || len(corpus) == 0 {
		t.Fatalf("no inputs in fhir/testdata: %v", err)
	}
	for _, f := range corpus {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body, ok := fuzzBytes(data)
		if !ok {
			continue
		}
		name, _ := filepath.Rel(root, f)
		typ := ""
		if v, err := fhir.Decode(body, fhir.DecodeOptions{}); err == nil {
			typ = v.ResourceType()
		}
		inputs = append(inputs, validateInput{name, typ, body})
	}
	return inputs
}

// fuzzBytes reads a Go fuzz corpus file holding one []byte value.
func fuzzBytes(file []byte) ([]byte, bool) {
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "go test fuzz v1") {
		return nil, false
	}
	lit, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok {
		return nil, false
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		return nil, false
	}
	return []byte(s), true
}

// cliIssues returns the issues the CLI printed with --json (one
// OperationOutcome a line), as issueKey strings, sorted.
func cliIssues(t *testing.T, out string) []string {
	t.Helper()
	var all []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			all = append(all, outcomeIssues(t, []byte(line))...)
		}
	}
	sort.Strings(all)
	return all
}

// outcomeIssues returns the issues of an OperationOutcome, but
// informational ones, as "severity|code|expression|diagnostics", sorted.
func outcomeIssues(t *testing.T, body []byte) []string {
	t.Helper()
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity    string   `json:"severity"`
			Code        string   `json:"code"`
			Diagnostics string   `json:"diagnostics"`
			Expression  []string `json:"expression"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		t.Fatalf("not an OperationOutcome (%v): %.300s", err, body)
	}
	var out []string
	for _, is := range oo.Issue {
		if is.Severity != "information" {
			out = append(out, is.Severity+"|"+is.Code+"|"+strings.Join(is.Expression, ",")+"|"+is.Diagnostics)
		}
	}
	sort.Strings(out)
	return out
}
