package sftpremote

import (
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestParseFingerprint(t *testing.T) {
	key := newSigner(t).PublicKey()
	want := ssh.FingerprintSHA256(key)
	for _, in := range []string{want, " " + want + "\n", want + "="} {
		got, err := parseFingerprint(in)
		if err != nil || got != want {
			t.Errorf("parseFingerprint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "SHA256:", "MD5:" + want[7:], ssh.FingerprintLegacyMD5(key), want[:20], "SHA256:!!!!", strings.ToLower(want)} {
		if got, err := parseFingerprint(in); err == nil && got == want {
			t.Errorf("parseFingerprint(%q) accepted as the key's fingerprint", in)
		} else if err == nil && len(got) != len(want) {
			t.Errorf("parseFingerprint(%q) = %q, not a full digest", in, got)
		}
	}
}

// FuzzParseFingerprint checks that an accepted fingerprint is canonical
// (what ssh.FingerprintSHA256 prints for some key) and a fixed point.
func FuzzParseFingerprint(f *testing.F) {
	f.Add("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
	f.Add("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	f.Add("MD5:00:11")
	f.Add("SHA256:")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseFingerprint(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "SHA256:") || len(got) != len("SHA256:")+43 {
			t.Fatalf("parseFingerprint(%q) = %q, not a canonical SHA-256 fingerprint", s, got)
		}
		if again, err := parseFingerprint(got); err != nil || again != got {
			t.Fatalf("parseFingerprint(%q) = %q, %v; want a fixed point", got, again, err)
		}
	})
}

// FuzzKnownHosts feeds arbitrary known_hosts files to the pin: it must
// never accept a key the file does not list for the host.
func FuzzKnownHosts(f *testing.F) {
	f.Add("[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
	f.Add("@revoked * ssh-ed25519 AAAA\n")
	f.Add("|1|abc|def ssh-rsa AAAA\n")
	f.Fuzz(func(t *testing.T, content string) {
		p := t.TempDir() + "/known_hosts"
		if err := writeFile(p, content); err != nil {
			t.Fatal(err)
		}
		pin, err := newPin(configWithKnownHosts(p))
		if err != nil {
			return
		}
		key := fuzzKey.PublicKey()
		if pin.check("127.0.0.1:2222", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}, key) == nil && !strings.Contains(content, keyText) {
			t.Fatalf("accepted a key the file does not hold: %q", content)
		}
		_ = pin.algorithms("127.0.0.1:2222")
	})
}
