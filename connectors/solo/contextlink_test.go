package solo

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// The spec's worked example: # Data: {"visit":"12345","user":"1234"}
// # Secret: some secret.
const (
	specArg    = "BizXKL9L4EQ=YuhTK5qXNtOCmbuaHMq5tA==DUPdvDCZPiSUf0Jumt/Mr/wVWv+mr6Vzj5LnKUQtTPc="
	specData   = `{"visit":"12345","user":"1234"}`
	specSecret = "some secret"
)

func TestContextLinkSpecExample(t *testing.T) {
	got, err := DecryptContext([]byte(specSecret), specArg)
	if err != nil || string(got) != specData {
		t.Fatalf("decrypting the spec's example: %q %v", got, err)
	}
	// with the example's salt and IV, encryption reproduces it exactly
	salt, iv, _, err := SplitContextArg(specArg)
	if err != nil {
		t.Fatal(err)
	}
	arg, err := EncryptContext([]byte(specSecret), []byte(specData), bytes.NewReader(append(salt, iv...)))
	if err != nil {
		t.Fatal(err)
	}
	if arg != url.QueryEscape(specArg) {
		t.Errorf("got %s, want %s", arg, url.QueryEscape(specArg))
	}
}

func TestContextLinkRoundTrip(t *testing.T) {
	ctx := LinkContext{User: "dr.who", Type: "provider", Visit: "5001", Date: 1714554000,
		Patient: LinkPatient{ID: "p-1", Sex: "female", DOB: "1980-02-29", FirstName: "Ann", LastName: "Lee"}}
	plain, _ := json.Marshal(ctx)
	seen := map[string]bool{}
	for range 3 {
		arg, err := EncryptContext([]byte("s3cret"), plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[arg] {
			t.Fatal("two links with the same salt and IV")
		}
		seen[arg] = true
		got, err := DecryptContext([]byte("s3cret"), arg)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip: %s %v", got, err)
		}
		if _, err := DecryptContext([]byte("other"), arg); err == nil {
			// a wrong key passes the padding check about 1 time in 256
			t.Log("a wrong secret happened to give valid padding")
		}
	}
}

func TestContextLinkOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	plain := []byte(`{"user":"u1","type":"patient","visit":"v1","date":1714554000,"patient":{"id":"p","sex":"other","dob":"2000-01-01","firstName":"A","lastName":"B"}}`)
	arg, err := EncryptContext([]byte("some secret"), plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	salt, iv, ct, err := SplitContextArg(arg)
	if err != nil {
		t.Fatal(err)
	}
	key := ContextKey([]byte("some secret"), salt)
	cmd := exec.Command("openssl", "enc", "-d", "-aes-256-cbc", "-K", hex.EncodeToString(key[:]), "-iv", hex.EncodeToString(iv))
	cmd.Stdin = bytes.NewReader(ct)
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("openssl: %q %v", out, err)
	}
}

func TestSplitContextArgRefuses(t *testing.T) {
	for _, arg := range []string{"", "short", specArg[:36], specArg[:len(specArg)-4] + "AAA=", "!" + specArg[1:],
		specArg[:36] + "AAAA"} {
		if _, err := DecryptContext([]byte(specSecret), arg); !errors.Is(err, ErrContextArg) {
			t.Errorf("%q: %v", arg, err)
		} else if arg != "" && strings.Contains(err.Error(), arg) {
			t.Errorf("the error quotes the argument")
		}
	}
}

func TestLinkContextValidate(t *testing.T) {
	ok := LinkContext{User: "u", Type: "patient", Visit: "v", Date: 1,
		Patient: LinkPatient{ID: "p", Sex: "male", DOB: "1990-01-01", FirstName: "F", LastName: "L"}}
	tests := []struct {
		name string
		edit func(*LinkContext)
		want string
	}{
		{"ok", func(*LinkContext) {}, ""},
		{"no user", func(c *LinkContext) { c.User = "" }, "user is required"},
		{"bad type", func(c *LinkContext) { c.Type = "nurse" }, "type must be"},
		{"no date", func(c *LinkContext) { c.Date = 0 }, "date is required"},
		{"bad sex", func(c *LinkContext) { c.Patient.Sex = "M" }, "patient.sex must be"},
		{"bad dob", func(c *LinkContext) { c.Patient.DOB = "01/02/1990" }, "patient.dob must be"},
		{"no last name", func(c *LinkContext) { c.Patient.LastName = "" }, "patient.lastName is required"},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		err := c.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "01/02/1990") {
			t.Errorf("%s: the error quotes a value", tt.name)
		}
	}
	b, _ := json.Marshal(ok)
	if want := `{"user":"u","type":"patient","visit":"v","date":1,"patient":{"id":"p","sex":"male","dob":"1990-01-01","firstName":"F","lastName":"L"}}`; string(b) != want {
		t.Errorf("JSON %s", b)
	}
}

func FuzzDecryptContext(f *testing.F) {
	f.Add(specArg)
	f.Add(url.QueryEscape(specArg))
	f.Add("")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, arg string) {
		plain, err := DecryptContext([]byte(specSecret), arg)
		if err != nil {
			if !errors.Is(err, ErrContextArg) {
				t.Fatalf("error outside ErrContextArg: %v", err)
			}
			return
		}
		// what decrypts must re-encrypt to the same ciphertext with the same salt and IV
		salt, iv, ct, _ := SplitContextArg(arg)
		again, err := EncryptContext([]byte(specSecret), plain, bytes.NewReader(append(salt, iv...)))
		if err != nil {
			t.Fatal(err)
		}
		_, _, ct2, _ := SplitContextArg(again)
		if !bytes.Equal(ct, ct2) {
			t.Fatalf("re-encryption differs")
		}
	})
}
