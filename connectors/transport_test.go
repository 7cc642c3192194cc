package connectors

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestTransportSpanAndTraceparent(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	type seen struct{ path, query, traceparent string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Traceparent")}
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()

	const secretID, secretQuery = "pat-Jane-1970", "name=Doe"
	tests := []struct {
		name     string
		template bool
		wrap     int // times Transport is applied
		wantName string
	}{
		{"with template", true, 1, "GET /qapi/v1/patients/{spid}"},
		{"without template", false, 1, "GET"},
		{"wrapped twice", true, 2, "GET /qapi/v1/patients/{spid}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			ctx, parent := tp.Tracer("test").Start(context.Background(), "attempt")
			var rt http.RoundTripper = http.DefaultTransport
			for range tc.wrap {
				rt = Transport(rt)
			}
			client := &http.Client{Transport: rt}
			p := PathOf("/qapi/v1/patients/{spid}", secretID)
			if tc.template {
				ctx = WithPathTemplate(ctx, p)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+p.String()+"?"+secretQuery, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			parent.End()

			s := <-got
			if s.path != "/qapi/v1/patients/"+secretID || s.query != secretQuery {
				t.Errorf("vendor got path %q query %q, want the real ones", s.path, s.query)
			}
			var client1 sdktrace.ReadOnlySpan
			n := 0
			for _, sp := range rec.Ended() {
				if sp.SpanKind() == trace.SpanKindClient {
					client1, n = sp, n+1
				}
			}
			if n != 1 {
				t.Fatalf("%d client spans, want 1", n)
			}
			if client1.Name() != tc.wantName {
				t.Errorf("span name %q, want %q", client1.Name(), tc.wantName)
			}
			if client1.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("client span's parent is %s, want the attempt span %s", client1.Parent().SpanID(), parent.SpanContext().SpanID())
			}
			want := "00-" + parent.SpanContext().TraceID().String() + "-" + client1.SpanContext().SpanID().String() + "-01"
			if s.traceparent != want {
				t.Errorf("vendor got traceparent %q, want %q", s.traceparent, want)
			}
			for _, a := range client1.Attributes() {
				v := a.Value.Emit()
				if strings.Contains(v, secretID) || strings.Contains(v, "Doe") || strings.Contains(v, "?") {
					t.Errorf("span attribute %s = %q shows a value of the request", a.Key, v)
				}
				if a.Key == "http.response.status_code" && a.Value.AsInt64() != http.StatusTeapot {
					t.Errorf("status attribute %d", a.Value.AsInt64())
				}
			}
			if strings.Contains(client1.Name(), secretID) {
				t.Errorf("span name %q shows the id", client1.Name())
			}
		})
	}
}

func TestTracedClientKeepsSettings(t *testing.T) {
	redirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &http.Client{Timeout: 7, CheckRedirect: redirect}
	tc := TracedClient(c)
	if tc == c || c.Transport != nil {
		t.Fatal("TracedClient changed its argument")
	}
	if tc.Timeout != 7 || tc.CheckRedirect == nil {
		t.Errorf("TracedClient lost the timeout or redirect policy")
	}
	if _, ok := tc.Transport.(*traced); !ok {
		t.Errorf("transport %T, want the traced one", tc.Transport)
	}
	if again := TracedClient(tc); again.Transport != tc.Transport {
		t.Errorf("wrapping again made a new transport")
	}
}
