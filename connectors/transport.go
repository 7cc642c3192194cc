package connectors

import (
	"context"
	"net/http"
	"net/url"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Transport returns base (http.DefaultTransport when nil) wrapped so that
// each request to a vendor gets an OpenTelemetry client span, a child of
// the span in the request's context, and carries that span to the vendor
// in a W3C traceparent header (the propagator installed by the tracing
// setup). With tracing off the spans are not recorded and nothing is
// injected.
//
// The span shows no value that may name a patient: its name is the method
// and, when the caller set one with WithPathTemplate, the path template
// ("POST /qapi/v1/patients/{spid}"); its url.full attribute is the scheme,
// host and that template (no path at all without one), never the sent
// path, query or fragment. Bodies and headers are not recorded.
//
// Wrapping a Transport again returns it unchanged, so a client handed in
// by a caller may be wrapped without nesting spans.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if t, ok := base.(*traced); ok {
		return t
	}
	t := &traced{}
	t.otel = otelhttp.NewTransport(unmask{t: t, base: base},
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if tmpl := pathTemplate(r.Context()); tmpl != "" {
				return r.Method + " " + tmpl
			}
			return r.Method
		}))
	return t
}

// TracedClient returns a copy of c (a new client when nil) whose transport
// is Transport(c.Transport); c itself is not changed.
func TracedClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{}
	}
	cp := *c
	cp.Transport = Transport(c.Transport)
	return &cp
}

// WithPathTemplate returns ctx carrying p's template ("/patients/{id}"),
// which Transport shows as the span name and url.template of the requests
// sent with that context. The template holds no value.
func WithPathTemplate(ctx context.Context, p Path) context.Context {
	return context.WithValue(ctx, templateKey{}, p.Template())
}

type templateKey struct{}

func pathTemplate(ctx context.Context) string {
	s, _ := ctx.Value(templateKey{}).(string)
	return s
}

// traced hides the request's URL from the instrumentation: otelhttp sees a
// URL of scheme, host and path template only (it records url.full), and
// unmask hands the real URL back to the base transport.
type traced struct {
	otel http.RoundTripper
}

// sentURL is the context key under which traced keeps the request's real
// URL for unmask; its address is the transport's, so nested transports
// do not read each other's.
type sentURL struct{ t *traced }

func (t *traced) RoundTrip(r *http.Request) (*http.Response, error) {
	tmpl := pathTemplate(r.Context())
	shown := url.URL{Scheme: r.URL.Scheme, Host: r.URL.Host, Path: tmpl}
	ctx := context.WithValue(r.Context(), sentURL{t}, r.URL)
	masked := r.Clone(ctx)
	masked.URL = &shown
	return t.otel.RoundTrip(masked)
}

// unmask restores the URL that traced hid and sends the request, adding
// url.template to the client span when the caller set one.
type unmask struct {
	t    *traced
	base http.RoundTripper
}

func (u unmask) RoundTrip(r *http.Request) (*http.Response, error) {
	real, ok := r.Context().Value(sentURL{u.t}).(*url.URL)
	if !ok {
		// Not reached through traced: send as is.
		return u.base.RoundTrip(r)
	}
	if tmpl := pathTemplate(r.Context()); tmpl != "" {
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("url.template", tmpl))
	}
	out := *r
	out.URL = real
	return u.base.RoundTrip(&out)
}
