package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

// jsonCanonicalHash is the first implementation of canonicalHash, on
// encoding/json: the hashes already stored in databases were made by it, so
// the faster one must give the same hash for every body.
func jsonCanonicalHash(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return "invalid"
	}
	if meta, ok := obj["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(obj, "meta")
		}
	}
	canon, _ := json.Marshal(obj)
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// TestCanonicalHashMatchesEncodingJSON: every official R4 example, and
// bodies with the characters where escaping differs, hash as before.
func TestCanonicalHashMatchesEncodingJSON(t *testing.T) {
	bodies := map[string][]byte{
		"html":        []byte(`{"resourceType":"Patient","text":{"div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b</div>"}}`),
		"controls":    []byte("{\"a\":\"tab\\there\\u0001\\u2028\\u2029\",\"b\":[1.50,-0,1e3,true,null]}"),
		"meta only":   []byte(`{"meta":{"versionId":"3","lastUpdated":"2026-01-01T00:00:00Z"},"id":"x"}`),
		"meta kept":   []byte(`{"id":"x","meta":{"versionId":"3","profile":["http://p"]}}`),
		"key order":   []byte(`{"zeta":{"b":1,"a":2},"alpha":[{"y":1,"x":2}]}`),
		"unicode":     []byte(`{"name":"Lucía Ñúñez 李","emoji":"🩺"}`),
		"nested meta": []byte(`{"contained":[{"meta":{"versionId":"1"}}]}`),
	}
	err := fs.WalkDir(fixtures.R4, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := fs.ReadFile(fixtures.R4, path)
		bodies[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range bodies {
		got, err := canonicalHash(body)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := jsonCanonicalHash(body); got != want {
			t.Errorf("%s: hash %s, encoding/json gives %s", name, got, want)
		}
		if v, err := fhir.Decode(body, fhir.DecodeOptions{}); err == nil && canonicalValueHash(v) != got {
			t.Errorf("%s: PutValue's hash %s differs from PutResource's %s", name, canonicalValueHash(v), got)
		}
	}
}

// BenchmarkCanonicalHash: the hash of one R4 example Patient.
func BenchmarkCanonicalHash(b *testing.B) {
	body, err := fs.ReadFile(fixtures.R4, "r4/Patient-example.json")
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := canonicalHash(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCanonicalHashEncodingJSON: the same with the first
// implementation, for comparison.
func BenchmarkCanonicalHashEncodingJSON(b *testing.B) {
	body, err := fs.ReadFile(fixtures.R4, "r4/Patient-example.json")
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		jsonCanonicalHash(body)
	}
}
