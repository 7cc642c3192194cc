package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"strings"
)

// ErrHeaderInjection is returned (wrapped) when a subject or address holds
// a CR or LF, which would let its value start a new header line.
var ErrHeaderInjection = errors.New("line break in a header value (header injection refused)")

// errAddress is the cause of every address refusal that is not injection.
var errAddress = errors.New("not a valid e-mail address")

// maxAddrLen is RFC 5321's limit on a forward path (4.5.3.1.3).
const maxAddrLen = 254

// parseAddress parses an address as Config.From or Message.To give it:
// "local@domain" or "Display Name <local@domain>". The addr-spec is held to
// a strict, ASCII subset of RFC 5322: a dot-atom local part and a domain of
// letter-digit-hyphen labels (or a bracketed IP literal), so what reaches
// the SMTP envelope and the headers needs no quoting. Errors never echo
// the input.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, ErrHeaderInjection
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errAddress
	}
	if strings.ContainsAny(a.Name, "\r\n") {
		return nil, ErrHeaderInjection
	}
	for _, r := range a.Name {
		if r < 0x20 || r == 0x7f {
			return nil, fmt.Errorf("%w: control character in the display name", errAddress)
		}
	}
	if err := checkAddrSpec(a.Address); err != nil {
		return nil, err
	}
	return a, nil
}

func checkAddrSpec(spec string) error {
	if len(spec) > maxAddrLen {
		return fmt.Errorf("%w: longer than %d bytes", errAddress, maxAddrLen)
	}
	at := strings.LastIndexByte(spec, '@')
	if at <= 0 || at == len(spec)-1 {
		return errAddress
	}
	local, domain := spec[:at], spec[at+1:]
	if len(local) > 64 || !isDotAtom(local) {
		return fmt.Errorf("%w: local part", errAddress)
	}
	if !isDomain(domain) {
		return fmt.Errorf("%w: domain", errAddress)
	}
	return nil
}

// isDotAtom reports whether s is an RFC 5322 dot-atom (3.2.3).
func isDotAtom(s string) bool {
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			if !isAtext(atom[i]) {
				return false
			}
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isDomain accepts dot-separated LDH labels (RFC 1035, 1123) or an IP
// address literal in brackets ([192.0.2.1], [IPv6:2001:db8::1]).
func isDomain(s string) bool {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return isAddressLiteral(s[1 : len(s)-1])
	}
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isAddressLiteral(s string) bool {
	v6, ok := strings.CutPrefix(s, "IPv6:")
	if ok {
		return parseIP(v6, true)
	}
	return parseIP(s, false)
}

// parseIP reports whether s is an IPv6 (v6) or IPv4 address without a zone.
func parseIP(s string, v6 bool) bool {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return false
	}
	return a.Is6() == v6 && !a.Is4In6()
}
