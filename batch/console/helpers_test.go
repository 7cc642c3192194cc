package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/console"
)

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cookieOf returns the session cookie of c ("" when none; fails when
// must and none).
func cookieOf(t *testing.T, c *http.Client, base string, must bool) string {
	t.Helper()
	u, _ := url.Parse(base + "/console/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == console.CookieName {
			return ck.Value
		}
	}
	if must {
		t.Fatal("no session cookie")
	}
	return ""
}

func csrfOf(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	tok, err := console.CSRFForCookie(cookieOf(t, c, base, true))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func httptestRequest(method, path, remote string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = remote
	return r
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
