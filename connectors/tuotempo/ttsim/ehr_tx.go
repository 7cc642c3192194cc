package ttsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// txEntry is the plan for one transaction entry.
type txEntry struct {
	typ, id  string
	res      map[string]any // nil when an existing match answers
	created  bool
	existing bool
}

// transaction runs a transaction Bundle all or nothing.
func (e *EHR) transaction(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(w, r)
	if err != nil {
		outcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if str(b, "resourceType") != "Bundle" || str(b, "type") != "transaction" {
		outcome(w, http.StatusBadRequest, "invalid", "not a transaction Bundle")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	plan, status, err := e.plan(entries(b))
	if err != nil {
		outcome(w, status, "processing", err.Error())
		return
	}
	out := make([]any, 0, len(plan))
	for _, p := range plan {
		st := "200 OK"
		ver := 0
		if p.existing {
			ver = e.res[p.typ+"/"+p.id].version
		} else {
			if e.res[p.typ+"/"+p.id] == nil {
				st = "201 Created"
			}
			ver = e.put(p.typ, p.id, p.res)
		}
		out = append(out, map[string]any{"response": map[string]any{
			"status":       st,
			"location":     fmt.Sprintf("%s/%s/_history/%d", p.typ, p.id, ver),
			"etag":         fmt.Sprintf(`W/"%d"`, ver),
			"lastModified": time.Now().UTC().Format(time.RFC3339),
		}})
	}
	resp, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction-response", "entry": out})
	writeJSON(w, http.StatusOK, resp)
}

// plan checks every entry and gives each its id (under e.mu); it changes
// nothing stored. The error names the entry by index, never a value.
func (e *EHR) plan(list []map[string]any) ([]txEntry, int, error) {
	plan := make([]txEntry, len(list))
	full := map[string]string{} // fullUrl → Type/id
	for i, en := range list {
		req, _ := en["request"].(map[string]any)
		res, _ := en["resource"].(map[string]any)
		method, u := str(req, "method"), str(req, "url")
		if res == nil {
			return nil, http.StatusBadRequest, fmt.Errorf("entry %d: no resource", i)
		}
		typ := str(res, "resourceType")
		p := txEntry{typ: typ, res: res}
		switch method {
		case "POST":
			if u != typ || !validType(typ) {
				return nil, http.StatusBadRequest, fmt.Errorf("entry %d: POST %s of a %s", i, u, typ)
			}
			if q := str(req, "ifNoneExist"); q != "" {
				sys, val, err := parseIfNoneExist(q)
				if err != nil {
					return nil, http.StatusBadRequest, fmt.Errorf("entry %d: %w", i, err)
				}
				switch m := e.find(typ, sys, val); len(m) {
				case 0:
				case 1:
					p.id, p.existing, p.res = m[0], true, nil
				default:
					return nil, http.StatusPreconditionFailed, fmt.Errorf("entry %d: ifNoneExist matches %d resources", i, len(m))
				}
			}
			if p.id == "" {
				e.next++
				p.id = fmt.Sprintf("ehr-%d", e.next)
				p.created = true
				res["id"] = p.id
			}
		case "PUT":
			t, id, _ := strings.Cut(u, "/")
			if t != typ || !validType(t) || !validID(id) || (str(res, "id") != "" && str(res, "id") != id) {
				return nil, http.StatusBadRequest, fmt.Errorf("entry %d: PUT %s: not {type}/{id} of the entry's resource", i, typeOnly(u))
			}
			res["id"] = id
			p.id = id
		default:
			return nil, http.StatusBadRequest, fmt.Errorf("entry %d: method %q not supported (POST, PUT)", i, method)
		}
		if f := str(en, "fullUrl"); f != "" {
			full[f] = p.typ + "/" + p.id
		}
		plan[i] = p
	}
	for _, p := range plan {
		if p.res != nil {
			rewriteRefs(p.res, full)
		}
	}
	return plan, 0, nil
}

// typeOnly returns the type part of a request url, for messages.
func typeOnly(u string) string {
	t, _, _ := strings.Cut(u, "/")
	t, _, _ = strings.Cut(t, "?")
	if !validType(t) {
		return "(invalid)"
	}
	return t
}

// rewriteRefs replaces every reference that is a key of full by its value.
func rewriteRefs(v any, full map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "reference" {
				if to, ok := full[s]; ok {
					x[k] = to
				}
				continue
			}
			rewriteRefs(c, full)
		}
	case []any:
		for _, c := range x {
			rewriteRefs(c, full)
		}
	}
}

// searchSlots answers GET /Slot with the status, schedule and start
// filters and _include=Slot:schedule.
func (e *EHR) searchSlots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var starts []func(time.Time) bool
	for _, s := range q["start"] {
		f, err := dateFilter(s)
		if err != nil {
			outcome(w, http.StatusBadRequest, "invalid", "start: "+err.Error())
			return
		}
		starts = append(starts, f)
	}
	include := slices.Contains(q["_include"], "Slot:schedule")
	base := e.URL()
	if base == "" {
		base = "http://" + r.Host
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var slots []string
	schedules := map[string]bool{}
	for key, res := range e.res {
		if !strings.HasPrefix(key, "Slot/") {
			continue
		}
		if st := q.Get("status"); st != "" && str(res.body, "status") != st {
			continue
		}
		sched, _ := res.body["schedule"].(map[string]any)
		ref := str(sched, "reference")
		if s := q.Get("schedule"); s != "" && ref != s && ref != "Schedule/"+s {
			continue
		}
		t, err := time.Parse(time.RFC3339, str(res.body, "start"))
		ok := err == nil
		for _, f := range starts {
			ok = ok && f(t)
		}
		if len(starts) > 0 && !ok {
			continue
		}
		slots = append(slots, key)
		schedules[ref] = true
	}
	slices.Sort(slots)
	out := make([]any, 0, len(slots))
	for _, k := range slots {
		out = append(out, map[string]any{"fullUrl": base + "/" + k, "resource": e.res[k].body, "search": map[string]any{"mode": "match"}})
	}
	if include {
		for _, k := range slices.Sorted(maps.Keys(schedules)) {
			if res := e.res[k]; res != nil && strings.HasPrefix(k, "Schedule/") {
				out = append(out, map[string]any{"fullUrl": base + "/" + k, "resource": res.body, "search": map[string]any{"mode": "include"}})
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(slots), "entry": out})
	writeJSON(w, http.StatusOK, b)
}

// dateFilter reads a FHIR date search value with an optional ge/gt/le/lt
// prefix (a date, or a dateTime with offset).
func dateFilter(s string) (func(time.Time) bool, error) {
	prefix := "eq"
	if len(s) > 2 && s[0] >= 'a' && s[0] <= 'z' {
		prefix, s = s[:2], s[2:]
	}
	t, err := time.Parse(time.RFC3339, s)
	end := t
	if err != nil {
		if t, err = time.Parse("2006-01-02", s); err != nil {
			return nil, fmt.Errorf("not a date")
		}
		end = t.AddDate(0, 0, 1)
	}
	switch prefix {
	case "ge":
		return func(x time.Time) bool { return !x.Before(t) }, nil
	case "gt":
		return func(x time.Time) bool { return !x.Before(end) }, nil
	case "lt":
		return func(x time.Time) bool { return x.Before(t) }, nil
	case "le":
		return func(x time.Time) bool { return x.Before(end) }, nil
	case "eq":
		return func(x time.Time) bool { return !x.Before(t) && (x.Before(end) || x.Equal(t)) }, nil
	}
	return nil, fmt.Errorf("prefix %q: ge, gt, le, lt", prefix)
}
