package smart

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxBody bounds an answer read from the EHR's discovery document or token
// endpoint, in bytes.
const MaxBody = 64 << 10

// maxTokenLen bounds an access token, in bytes (it goes into a header).
const maxTokenLen = 8 << 10

// DefaultExpiresIn is the lifetime assumed for a token whose answer has no
// expires_in.
const DefaultExpiresIn = 5 * time.Minute

// maxExpiresIn caps the lifetime a token answer may claim.
const maxExpiresIn = 24 * time.Hour

// Configuration is what the bridge uses of a SMART configuration document
// (.well-known/smart-configuration).
type Configuration struct {
	// TokenEndpoint is the absolute http(s) URL of the token endpoint.
	TokenEndpoint string
	// AuthMethods, SigningAlgs and GrantTypes are the server's lists
	// (token_endpoint_auth_methods_supported,
	// token_endpoint_auth_signing_alg_values_supported,
	// grant_types_supported); nil when absent.
	AuthMethods, SigningAlgs, GrantTypes []string
}

// ParseConfiguration reads a SMART configuration document: a JSON object
// of at most MaxBody bytes with an absolute http(s) token_endpoint.
// Errors name the member at fault, never its value.
func ParseConfiguration(b []byte) (Configuration, error) {
	if len(b) > MaxBody {
		return Configuration{}, fmt.Errorf("smart-configuration: over %d bytes", MaxBody)
	}
	var doc struct {
		TokenEndpoint json.RawMessage `json:"token_endpoint"`
		AuthMethods   json.RawMessage `json:"token_endpoint_auth_methods_supported"`
		SigningAlgs   json.RawMessage `json:"token_endpoint_auth_signing_alg_values_supported"`
		GrantTypes    json.RawMessage `json:"grant_types_supported"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Configuration{}, errors.New("smart-configuration: not a JSON object")
	}
	var c Configuration
	if err := str(doc.TokenEndpoint, &c.TokenEndpoint); err != nil || c.TokenEndpoint == "" {
		return Configuration{}, errors.New("smart-configuration: token_endpoint: want a URL string")
	}
	if err := CheckURL(c.TokenEndpoint); err != nil {
		return Configuration{}, fmt.Errorf("smart-configuration: token_endpoint: %w", err)
	}
	for _, l := range []struct {
		name string
		raw  json.RawMessage
		out  *[]string
	}{
		{"token_endpoint_auth_methods_supported", doc.AuthMethods, &c.AuthMethods},
		{"token_endpoint_auth_signing_alg_values_supported", doc.SigningAlgs, &c.SigningAlgs},
		{"grant_types_supported", doc.GrantTypes, &c.GrantTypes},
	} {
		if len(l.raw) == 0 || string(l.raw) == "null" {
			continue
		}
		if err := json.Unmarshal(l.raw, l.out); err != nil {
			return Configuration{}, fmt.Errorf("smart-configuration: %s: want an array of strings", l.name)
		}
	}
	return c, nil
}

// Supports reports why the server cannot serve a private_key_jwt
// client-credentials grant signed with alg, or nil: each list the server
// publishes must hold the value the bridge uses.
func (c Configuration) Supports(alg string) error {
	if c.AuthMethods != nil && !slices.Contains(c.AuthMethods, "private_key_jwt") {
		return errors.New("the EHR's token_endpoint_auth_methods_supported lacks private_key_jwt")
	}
	if c.SigningAlgs != nil && !slices.Contains(c.SigningAlgs, alg) {
		return fmt.Errorf("the EHR's token_endpoint_auth_signing_alg_values_supported lacks %s", alg)
	}
	if c.GrantTypes != nil && !slices.Contains(c.GrantTypes, "client_credentials") {
		return errors.New("the EHR's grant_types_supported lacks client_credentials")
	}
	return nil
}

// CheckURL reports whether s is an absolute http(s) URL without user
// information or fragment.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("want an absolute http(s) URL")
	}
	if u.User != nil || u.Fragment != "" {
		return errors.New("want a URL without user information or fragment")
	}
	return nil
}

// Token is an access token and when it was issued and expires.
type Token struct {
	// AccessToken is sent as "Authorization: Bearer <AccessToken>".
	AccessToken string
	// ExpiresIn is the lifetime the server gave (DefaultExpiresIn when it
	// gave none; capped at 24 h).
	ExpiresIn time.Duration
	// Scope is the scope granted, when the server said.
	Scope string
}

// ParseTokenResponse reads a token endpoint's success answer (RFC 6749
// §5.1): a JSON object of at most MaxBody bytes with a non-empty
// access_token of printable ASCII (at most 8 KiB), token_type "bearer"
// (any case), an optional positive numeric expires_in and an optional
// scope. Errors name the member at fault, never a value.
func ParseTokenResponse(b []byte) (Token, error) {
	if len(b) > MaxBody {
		return Token{}, fmt.Errorf("token answer: over %d bytes", MaxBody)
	}
	var doc struct {
		AccessToken json.RawMessage `json:"access_token"`
		TokenType   json.RawMessage `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Scope       json.RawMessage `json:"scope"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Token{}, errors.New("token answer: not a JSON object")
	}
	var t Token
	if err := str(doc.AccessToken, &t.AccessToken); err != nil || t.AccessToken == "" {
		return Token{}, errors.New("token answer: access_token: want a non-empty string")
	}
	if len(t.AccessToken) > maxTokenLen {
		return Token{}, fmt.Errorf("token answer: access_token: over %d bytes", maxTokenLen)
	}
	for i := 0; i < len(t.AccessToken); i++ {
		if c := t.AccessToken[i]; c < 0x21 || c > 0x7e {
			return Token{}, errors.New("token answer: access_token: holds a character that cannot go into a header")
		}
	}
	var typ string
	if err := str(doc.TokenType, &typ); err != nil || !strings.EqualFold(typ, "bearer") {
		return Token{}, errors.New(`token answer: token_type: want "bearer"`)
	}
	t.ExpiresIn = DefaultExpiresIn
	if len(doc.ExpiresIn) > 0 && string(doc.ExpiresIn) != "null" {
		var secs float64
		if err := json.Unmarshal(doc.ExpiresIn, &secs); err != nil || secs <= 0 || math.IsNaN(secs) {
			return Token{}, errors.New("token answer: expires_in: want a positive number of seconds")
		}
		t.ExpiresIn = maxExpiresIn
		if secs < maxExpiresIn.Seconds() {
			t.ExpiresIn = time.Duration(secs * float64(time.Second))
		}
	}
	if len(doc.Scope) > 0 && string(doc.Scope) != "null" {
		if err := str(doc.Scope, &t.Scope); err != nil {
			return Token{}, errors.New("token answer: scope: want a string")
		}
	}
	return t, nil
}

// ParseTokenError returns the OAuth error code of a token endpoint's
// error answer (RFC 6749 §5.2) when it is one of the codes the RFCs
// register, else "". The description is not kept: a server may quote
// the request in it.
func ParseTokenError(b []byte) string {
	if len(b) > MaxBody {
		return ""
	}
	var doc struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return ""
	}
	switch doc.Error {
	case "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
		"unsupported_grant_type", "invalid_scope", "invalid_target", "temporarily_unavailable", "server_error":
		return doc.Error
	}
	return ""
}

// str decodes a JSON string member; absent is "".
func str(raw json.RawMessage, out *string) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}
