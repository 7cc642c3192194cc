package wsapi

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	plain := serve(t, false, Options{})
	tlsEnv := serve(t, true, Options{})
	loopback := serve(t, false, Options{AllowBasicWithoutTLS: true})
	cases := []struct {
		name   string
		e      *env
		center string
		a      auth
		want   int
	}{
		{"no credential", plain, "c1", auth{}, 401},
		{"wrong token", plain, "c1", auth{token: "tok-9"}, 401},
		{"token of another center", plain, "c1", auth{token: "tok-2"}, 401},
		{"right token", plain, "c1", auth{token: "tok-1"}, 200},
		{"right token over TLS", tlsEnv, "c2", auth{token: "tok-2"}, 200},
		{"unknown center", plain, "c9", auth{token: "tok-1"}, 401},
		{"empty center", plain, "", auth{token: "tok-1"}, 401},
		{"basic over TLS", tlsEnv, "c3", auth{user: "u3", pass: "p3"}, 200},
		{"basic over plain HTTP refused", plain, "c3", auth{user: "u3", pass: "p3"}, 401},
		{"basic over plain HTTP allowed for loopback", loopback, "c3", auth{user: "u3", pass: "p3"}, 200},
		{"basic wrong password", tlsEnv, "c3", auth{user: "u3", pass: "p4"}, 401},
		{"basic of another center", tlsEnv, "c3", auth{user: "u4", pass: "p4"}, 401},
		{"basic for a token-only center", tlsEnv, "c1", auth{user: "u3", pass: "p3"}, 401},
		{"token for a basic-only center", tlsEnv, "c3", auth{token: "tok-1"}, 401},
		{"center with both: token", tlsEnv, "c4", auth{token: "tok-4"}, 200},
		{"center with both: basic", tlsEnv, "c4", auth{user: "u4", pass: "p4"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// REST
			body, _ := json.Marshal(map[string]string{"CENTER_LID": tc.center, "FROM_DAY": "01/02/2026"})
			resp, got := tc.e.post(t, "rest/listThings", "application/json", string(body), tc.a, nil)
			if resp.StatusCode != tc.want {
				t.Fatalf("REST status %d, want %d: %s", resp.StatusCode, tc.want, got)
			}
			if tc.want == 401 {
				if !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("REST 401 without a Bearer challenge: %v", resp.Header)
				}
				if strings.Contains(got, "c9") || strings.Contains(got, "center") {
					t.Errorf("the 401 tells about centers: %s", got)
				}
			}
			// SOAP
			resp, got = tc.e.post(t, "soap", "text/xml; charset=utf-8",
				soapBody("listThings", "CENTER_LID", tc.center, "FROM_DAY", "01/02/2026"), tc.a, nil)
			if resp.StatusCode != tc.want {
				t.Fatalf("SOAP status %d, want %d: %s", resp.StatusCode, tc.want, got)
			}
			if tc.want == 401 && (!strings.Contains(got, "<faultcode>soap:Client</faultcode>") || resp.Header.Get("WWW-Authenticate") == "") {
				t.Errorf("SOAP 401 is not a Client fault with a challenge: %v %s", resp.Header, got)
			}
		})
	}
	// An unknown center and a wrong token answer alike.
	b1, _ := json.Marshal(map[string]string{"CENTER_LID": "c9", "FROM_DAY": "x"})
	b2, _ := json.Marshal(map[string]string{"CENTER_LID": "c1", "FROM_DAY": "x"})
	_, a1 := plain.post(t, "rest/listThings", "application/json", string(b1), auth{token: "tok-1"}, nil)
	_, a2 := plain.post(t, "rest/listThings", "application/json", string(b2), auth{token: "nope"}, nil)
	if a1 != a2 {
		t.Errorf("unknown center %q and wrong token %q answer differently", a1, a2)
	}
}

func TestRESTHappy(t *testing.T) {
	e := serve(t, false, Options{})
	tok := auth{token: "tok-1"}
	cases := []struct {
		name, op, body, want string
	}{
		{"list", "listThings", `{"CENTER_LID":"c1","FROM_DAY":"01/02/2026","NAME":"ab"}`,
			`[{"THING_LID":"t1","THING_NAME":"first <&> ab","CENTER":"c1"},{"THING_LID":"t2","CENTER":"c1"}]`},
		{"empty list", "listThings", `{"CENTER_LID":"c1","FROM_DAY":"none"}`, `[]`},
		{"empty optional parameter is absent", "listThings", `{"CENTER_LID":"c1","FROM_DAY":"none","NAME":""}`, `[]`},
		{"single with binary", "getDoc", `{"CENTER_LID":"c1","DOWNLOAD_LID":"d1"}`,
			`{"DOWNLOAD_LID":"d1","DOWNLOAD_CONTENT":"` + base64.StdEncoding.EncodeToString([]byte(binaryContent)) + `","NOTE":"ok"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := e.post(t, "rest/"+tc.op, "application/json; charset=UTF-8", tc.body, tok, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			var gotV, wantV any
			if err := json.Unmarshal([]byte(got), &gotV); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if err := json.Unmarshal([]byte(tc.want), &wantV); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(gotV)
			w, _ := json.Marshal(wantV)
			if string(g) != string(w) {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
	if n := e.counter(t, "getDoc", "rest", "ok"); n != 1 {
		t.Errorf("getDoc rest ok counted %v times", n)
	}
	for _, want := range []string{`"operation":"getDoc"`, `"transport":"rest"`, `"outcome":"ok"`, `"records":1`, `"center":"c1"`, `"records":2`} {
		if !strings.Contains(e.log.String(), want) {
			t.Errorf("no %s in the log:\n%s", want, e.log.String())
		}
	}
}

func TestPrefix(t *testing.T) {
	h := Handler(fakeRegistry(t), fakeCenters(), Options{Prefix: "/ws", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/ws/rest/", 200}, {"/ws/soap?wsdl", 200}, {"/tuotempo/ws/rest/", 404}, {"/ws/other", 404}, {"/wsrest/", 404},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, w.Code, tc.want)
		}
	}
}

func TestRESTErrors(t *testing.T) {
	e := serve(t, false, Options{})
	tok := auth{token: "tok-1"}
	long := strings.Repeat("é", 51) // 51 characters, 102 bytes
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		wantError, wantField            string
		outcome                         string
	}{
		{"unknown parameter", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"d","PATIENT":"` + patientValue + `"}`, 400, "unknown parameter", "PATIENT", "bad_request"},
		{"unknown parameter with an unsafe name", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"d","` + patientValue + `":"x"}`, 400, "unknown parameter", "", "bad_request"},
		{"required missing", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1"}`, 400, "required parameter missing", "DOWNLOAD_LID", "bad_request"},
		{"required empty", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":""}`, 400, "required parameter missing", "DOWNLOAD_LID", "bad_request"},
		{"over Max in characters", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"` + long + `"}`, 400, "longer than 50 characters", "DOWNLOAD_LID", "bad_request"},
		{"not a string", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":12}`, 400, "parameter value must be a JSON string", "DOWNLOAD_LID", "bad_request"},
		{"duplicate", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"a","DOWNLOAD_LID":"b"}`, 400, "parameter given twice", "DOWNLOAD_LID", "bad_request"},
		{"not an object", "POST", "rest/getDoc", "application/json", `["` + patientValue + `"]`, 400, "body is not a JSON object of string parameters", "", "bad_request"},
		{"malformed", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"` + patientValue, 400, "body is not a JSON object of string parameters", "", "bad_request"},
		{"trailing data", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1"} {}`, 400, "body is not a JSON object of string parameters", "", "bad_request"},
		{"operation BadRequest", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"bad"}`, 400, "not a download id", "DOWNLOAD_LID", "bad_request"},
		{"operation NotFound", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"missing"}`, 404, "no such download", "DOWNLOAD_LID", "not_found"},
		{"unknown operation", "POST", "rest/nothing", "application/json", `{"CENTER_LID":"c1"}`, 404, "unknown operation", "", "not_found"},
		{"operation Unavailable", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"busy"}`, 503, "temporarily unavailable", "", "unavailable"},
		{"internal error", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"boom"}`, 503, "temporarily unavailable", "", "error"},
		{"panic", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"panic"}`, 503, "temporarily unavailable", "", "error"},
		{"two records for a single result", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"c1","DOWNLOAD_LID":"two"}`, 503, "temporarily unavailable", "", "error"},
		{"GET", "GET", "rest/getDoc", "", "", 405, "use POST", "", "refused"},
		{"not JSON", "POST", "rest/getDoc", "text/plain", `{"CENTER_LID":"c1"}`, 415, "Content-Type must be application/json (UTF-8)", "", "refused"},
		{"not UTF-8", "POST", "rest/getDoc", "application/json; charset=latin1", `{"CENTER_LID":"c1"}`, 415, "Content-Type must be application/json (UTF-8)", "", "refused"},
		{"too large", "POST", "rest/getDoc", "application/json", `{"CENTER_LID":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "request body over 64 KiB", "", "refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.base+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			tok.set(req)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body restErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status || body.Error != tc.wantError || body.Field != tc.wantField {
				t.Errorf("got %d %+v, want %d {%s %s}", resp.StatusCode, body, tc.status, tc.wantError, tc.wantField)
			}
			if (tc.status == 503) != (resp.Header.Get("Retry-After") != "") {
				t.Errorf("Retry-After %q with status %d", resp.Header.Get("Retry-After"), tc.status)
			}
			if strings.Contains(body.Error, patientValue) {
				t.Errorf("error echoes a value: %+v", body)
			}
		})
	}
	for _, c := range []struct{ op, outcome string }{{"getDoc", "bad_request"}, {"getDoc", "not_found"}, {"getDoc", "error"}, {"unknown", "not_found"}, {"getDoc", "refused"}} {
		if e.counter(t, c.op, "rest", c.outcome) == 0 {
			t.Errorf("no %s/%s counted", c.op, c.outcome)
		}
	}
	if !strings.Contains(e.log.String(), `"cause":"wsapi.errStore"`) {
		t.Errorf("the internal error's type is not logged:\n%s", e.log.String())
	}
}

// counter returns the requests counter of op, transport and outcome.
func (e *env) counter(t *testing.T, op, transport, outcome string) float64 {
	t.Helper()
	mfs, err := e.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "fhirbridge_tuotempo_ws_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["operation"] == op && labels["transport"] == transport && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
