package console

import (
	"strings"
	"testing"
)

var fast = Params{Time: 1, Memory: 1024, Threads: 1}

func TestPasswordHash(t *testing.T) {
	a, err := HashPassword("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of one password are equal: no per-hash salt")
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash %q does not carry its parameters", a)
	}
	tests := []struct {
		pw, hash string
		ok       bool
	}{
		{"correct horse", a, true},
		{"correct horse", b, true},
		{"correct horsE", a, false},
		{"", a, false},
		{strings.Repeat("x", 2000), a, false},
	}
	for _, tt := range tests {
		ok, err := VerifyPassword(tt.pw, tt.hash)
		if err != nil || ok != tt.ok {
			t.Errorf("VerifyPassword(%.10q): %v, %v; want %v", tt.pw, ok, err, tt.ok)
		}
	}
	// the default parameters are the ones stored in a default hash
	d, err := HashPassword("correct horse", Params{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("default hash %q", d)
	}
	if ok, err := VerifyPassword("correct horse", d); !ok || err != nil {
		t.Errorf("default hash does not verify: %v", err)
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tt := range []struct {
		pw, err string
	}{{"1234567", "too short"}, {"12345678", ""}, {strings.Repeat("p", 1025), "too long"}} {
		err := CheckPassword(tt.pw)
		if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("CheckPassword(len %d): %v, want %q", len(tt.pw), err, tt.err)
		}
		if _, herr := HashPassword(tt.pw, fast); (herr == nil) != (tt.err == "") {
			t.Errorf("HashPassword(len %d): %v", len(tt.pw), herr)
		}
	}
}

func TestParseHashRefuses(t *testing.T) {
	good, _ := HashPassword("correct horse", fast)
	parts := strings.Split(good, "$")
	tests := []struct{ name, hash, want string }{
		{"empty", "", "want $argon2id"},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv", "want $argon2id"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1), "want $argon2id"},
		{"version", strings.Replace(good, "v=19", "v=16", 1), "version"},
		{"huge memory", strings.Replace(good, "m=1024", "m=4194304", 1), "out of bounds"},
		{"zero time", strings.Replace(good, "t=1", "t=0", 1), "out of bounds"},
		{"zero lanes", strings.Replace(good, "p=1", "p=0", 1), "out of bounds"},
		{"not a number", strings.Replace(good, "m=1024", "m=x", 1), "want m=<number>"},
		{"order", strings.Replace(good, "m=1024,t=1", "t=1,m=1024", 1), "want m=<number>"},
		{"short salt", "$argon2id$v=19$m=1024,t=1,p=1$YWJj$" + parts[5], "salt"},
		{"bad key", "$argon2id$v=19$m=1024,t=1,p=1$" + parts[4] + "$!!", "key"},
		{"too long", good + strings.Repeat("A", 300), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseHash(tt.hash)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseHash: %v, want an error with %q", err, tt.want)
			}
			if ok, _ := VerifyPassword("correct horse", tt.hash); ok {
				t.Error("a malformed hash verified")
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tok, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := parseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	c := csrfFor(raw)
	if !checkCSRF(raw, c) || checkCSRF(raw, c[:42]+"A") && c[42] != 'A' || checkCSRF(raw, "") {
		t.Error("CSRF check")
	}
	other, _ := newToken()
	oraw, _ := parseToken(other)
	if checkCSRF(oraw, c) {
		t.Error("a CSRF token passes for another session")
	}
	for _, bad := range []string{"", tok[:42], tok + "A", strings.Repeat("+", 43), strings.Repeat("A", 42) + "B"} {
		if _, err := parseToken(bad); err == nil {
			t.Errorf("parseToken(%q) accepted", bad)
		}
	}
}

// FuzzParseToken feeds hostile cookie values and CSRF tokens to the
// parsers: no panic, and a value accepted is exactly a canonical token.
func FuzzParseToken(f *testing.F) {
	tok, _ := newToken()
	f.Add(tok, tok)
	f.Add("", "")
	f.Add(strings.Repeat("A", 43), strings.Repeat("_", 43))
	f.Add(strings.Repeat("A", 42)+"B", "\x00")
	f.Fuzz(func(t *testing.T, cookie, csrf string) {
		raw, err := parseToken(cookie)
		if err != nil {
			return
		}
		if len(raw) != tokenBytes || newTokenString(raw) != cookie {
			t.Fatalf("accepted a non-canonical token %q", cookie)
		}
		if checkCSRF(raw, csrf) != (csrf == csrfFor(raw)) {
			t.Fatalf("checkCSRF disagrees with csrfFor for %q", csrf)
		}
		if _, err := CSRFForCookie(cookie); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseHash feeds hostile stored hashes to the parser: no panic, and
// what it accepts is within the bounds.
func FuzzParseHash(f *testing.F) {
	good, _ := HashPassword("correct horse", fast)
	f.Add(good)
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=99999999999,t=1,p=1$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		if h.p.Memory > maxMemoryKiB || h.p.Time > maxTime || h.p.Threads == 0 || h.p.Memory < 8*uint32(h.p.Threads) ||
			len(h.salt) < 8 || len(h.salt) > 64 || len(h.key) < 16 || len(h.key) > 64 {
			t.Fatalf("accepted out-of-bounds hash %q: %+v", s, h.p)
		}
	})
}

// FuzzParseOIDCState feeds hostile OIDC state cookies to the parser: no
// panic, and what it accepts round-trips.
func FuzzParseOIDCState(f *testing.F) {
	a, _ := newToken()
	f.Add(a + "." + a + "." + a)
	f.Add("..")
	f.Add(a + "." + a)
	f.Add(strings.Repeat(a+".", 40))
	f.Fuzz(func(t *testing.T, v string) {
		st, err := parseOIDCState(v)
		if err != nil {
			return
		}
		if st.cookie() != v {
			t.Fatalf("accepted %q, which writes back as %q", v, st.cookie())
		}
	})
}
