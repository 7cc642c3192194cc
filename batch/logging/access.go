package logging

import (
	"log/slog"
	"net/http"
	"time"
)

// AccessLog logs one line per request after it is served: method, path
// as route names it, status and duration, with the request's context so
// the line carries its request id. Put it inside Middleware. route must
// return what may be logged of the path — a route pattern, or the path
// where it holds only types and ids — never the query string (search
// values) nor a path segment that is a secret (a webhook's token); nil
// logs the path.
func AccessLog(log *slog.Logger, route func(*http.Request) string, next http.Handler) http.Handler {
	if route == nil {
		route = func(r *http.Request) string { return r.URL.Path }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.InfoContext(r.Context(), "request", "method", r.Method, "path", route(r),
			"status", sw.status, "duration_ms", time.Since(start).Milliseconds())
	})
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (flushing, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
