package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
)

// alertRule is one rule of deploy/alerts.yaml.
type alertRule struct {
	Alert string `yaml:"alert"`
	Expr  string `yaml:"expr"`
}

// readAlertRules reads every rule of deploy/alerts.yaml.
func readAlertRules(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("deploy/alerts.yaml: %v", err)
	}
	var rules []alertRule
	for _, g := range file.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatal("deploy/alerts.yaml has no rules")
	}
	return rules
}

var (
	// promSelector is a metric name of ours (or Prometheus' own up) with
	// its optional label matchers.
	promSelector = regexp.MustCompile(`\b(fhirbridge_[a-zA-Z0-9_]+|up)\b(\{[^}]*\})?`)
	promMatcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	promBy       = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	// expoSample is a sample line of the Prometheus text format.
	expoSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? `)
	expoLabel  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrapedSeries maps each metric name in a /metrics page to its label
// names and, for each, the values seen.
func scrapedSeries(page string) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, line := range strings.Split(page, "\n") {
		m := expoSample.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		labels := out[m[1]]
		if labels == nil {
			labels = map[string][]string{}
			out[m[1]] = labels
		}
		for _, l := range expoLabel.FindAllStringSubmatch(m[3], -1) {
			if !slices.Contains(labels[l[1]], l[2]) {
				labels[l[1]] = append(labels[l[1]], l[2])
			}
		}
	}
	return out
}

// alertProblems checks the expressions of rules against the series of a
// /metrics page (as scrapedSeries gives them): every metric named exists,
// every label matched or grouped by is one of its labels, and every value
// an equality matcher (or a plain alternation regex) asks for is one seen
// on the page or in known. Prometheus' own up and target labels (job,
// instance) are allowed.
func alertProblems(rules []alertRule, series map[string]map[string][]string, known map[string][]string) []string {
	target := map[string]bool{"job": true, "instance": true}
	var problems []string
	for _, r := range rules {
		var named []string
		for _, sel := range promSelector.FindAllStringSubmatch(r.Expr, -1) {
			name := sel[1]
			if name == "up" {
				continue
			}
			named = append(named, name)
			labels, ok := series[name]
			if !ok {
				problems = append(problems, r.Alert+": metric "+name+" is not exported")
				continue
			}
			for _, m := range promMatcher.FindAllStringSubmatch(sel[2], -1) {
				label, op, value := m[1], m[2], m[3]
				if target[label] {
					continue
				}
				seen, ok := labels[label]
				if !ok {
					problems = append(problems, r.Alert+": "+name+" has no label "+label)
					continue
				}
				if op == "=" || (op == "=~" && regexp.MustCompile(`^[A-Za-z0-9_|^]+$`).MatchString(value)) {
					for _, v := range strings.Split(value, "|") {
						if !slices.Contains(seen, v) && !slices.Contains(known[label], v) {
							problems = append(problems, r.Alert+": "+name+`{`+label+`="`+v+`"} never occurs (seen: `+strings.Join(seen, ", ")+`)`)
						}
					}
				}
			}
		}
		for _, by := range promBy.FindAllStringSubmatch(r.Expr, -1) {
			for _, label := range strings.Split(by[1], ",") {
				label = strings.TrimSpace(label)
				if label == "" || target[label] {
					continue
				}
				for _, name := range named {
					if labels, ok := series[name]; ok {
						if _, ok := labels[label]; !ok {
							problems = append(problems, r.Alert+": by ("+label+") but "+name+" has no label "+label)
						}
					}
				}
			}
		}
	}
	return problems
}

// TestAlertProblemsCatchesWrongNames: the checker finds a metric that is
// not exported, a label it does not have, and a value it never takes.
func TestAlertProblemsCatchesWrongNames(t *testing.T) {
	series := scrapedSeries(`# HELP x
fhirbridge_http_requests_total{code="200",route="readyz"} 3
fhirbridge_delivery_jobs{flow="f",state="pending"} 1
`)
	known := map[string][]string{"state": {"pending", "dlq"}}
	tests := []struct {
		expr string
		want string // "" for no problem
	}{
		{`up{job="fhirbridge"} == 0`, ""},
		{`sum by (instance) (rate(fhirbridge_http_requests_total{route="readyz",code!="200"}[5m])) > 0`, ""},
		{`sum by (flow) (delta(fhirbridge_delivery_jobs{state="dlq"}[30m])) > 0`, ""},
		{`rate(fhirbridge_mllp_messages_total[5m]) > 0`, "metric fhirbridge_mllp_messages_total is not exported"},
		{`rate(fhirbridge_http_requests_total{status=~"5.."}[5m]) > 0`, "has no label status"},
		{`rate(fhirbridge_http_requests_total{route="ready"}[5m]) > 0`, `{route="ready"} never occurs`},
		{`fhirbridge_delivery_jobs{state=~"pending|dead"} > 0`, `{state="dead"} never occurs`},
		{`sum by (vendor) (fhirbridge_delivery_jobs) > 0`, "by (vendor) but fhirbridge_delivery_jobs has no label vendor"},
	}
	for _, tt := range tests {
		got := alertProblems([]alertRule{{Alert: "A", Expr: tt.expr}}, series, known)
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%s: problems %q, want none", tt.expr, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("%s: problems %q, want one with %q", tt.expr, got, tt.want)
		}
	}
}

// TestAlertRulesUseExportedMetrics runs serve with a Solo route whose
// vendor answers 503 (so jobs stay pending and attempts are retried) and an
// MLLP listener, exercises /readyz, a Bundle and HL7 v2 messages, then
// checks every metric, label and label value the rules of
// deploy/alerts.yaml use against what /metrics exports: a rule on a name
// that does not exist never fires.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve")
	}
	rules := readAlertRules(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	mllpAddr := freeAddr(t)
	b := startBridge(t, `connectors:
  solo: {base_url: "`+down.URL+`", api_key: {env: BRIDGE_SOLO_KEY}}
`+soloRoutes+"hl7v2:\n  listen: \""+mllpAddr+"\"\n")
	send(t, "GET", b.Base+"/readyz", "", http.StatusOK)
	send(t, "POST", b.Base+"/fhir", string(crashBundle(1)), http.StatusOK)
	if code, _ := mllpAck(t, mllpAddr, siuMessage("S12", "OPS-1", time.Now().Add(48*time.Hour))); code != "AA" {
		t.Fatalf("SIU^S12: ACK %s, want AA", code)
	}
	if code, _ := mllpAck(t, mllpAddr, "MSH|^~\\&|X|Y|Z|W|20261207091500||ZZZ^Z01|OPS-2|P|2.5.1\n"); code == "AA" {
		t.Fatalf("an unknown message type was answered AA")
	}
	var series map[string]map[string][]string
	b.Wait("a retried delivery attempt and a pending job on /metrics", func() bool {
		resp, err := http.Get(b.Base + "/metrics")
		if err != nil {
			return false
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		series = scrapedSeries(string(page))
		_, attempts := series["fhirbridge_delivery_attempts_total"]
		_, age := series["fhirbridge_delivery_oldest_pending_seconds"]
		return attempts && age
	})
	var states []string
	for _, s := range []delivery.State{delivery.StatePending, delivery.StateInFlight, delivery.StateDeadLetter, delivery.StateDelivered, delivery.StateDiscarded} {
		states = append(states, string(s))
	}
	known := map[string][]string{
		"state": states,
		// the acknowledgment codes of HL7 v2 (table 0008)
		"ack": {"AA", "AE", "AR", "CA", "CE", "CR"},
	}
	for _, p := range alertProblems(rules, series, known) {
		t.Error(p)
	}
}
