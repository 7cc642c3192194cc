package wsapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkCall measures the handler's own cost per call (parse, auth,
// validate, encode) for a single record with a Binary field, without the
// network.
func BenchmarkCall(b *testing.B) {
	h := Handler(fakeRegistry(b), fakeCenters(), Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, tc := range []struct{ name, path, ctype, body string }{
		{"rest", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"d1"}`},
		{"soap", "soap", "text/xml", soapBody("getDoc", "CENTER_LID", "c1", "DOWNLOAD_LID", "d1")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, DefaultPrefix+tc.path, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.ctype)
				req.Header.Set("Authorization", "Bearer tok-1")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
