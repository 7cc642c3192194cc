// Package results answers tuOtempO's medical results web services (guide
// C.2) from FHIR DiagnosticReports: getTestResultsList lists a patient's
// reports of a date window, getTestResultContent sends one report's file
// once the caller proves the patient's DOWNLOAD_CODE and USER_ID_NUMBER.
//
// Records come from the shipped mapping tuotempo/result (status → Valid or
// Cancelled, DOWNLOAD_CODE and USER_ID_NUMBER from the configured identifier
// systems). The content is the report's presentedForm[0] (inline data or a
// url naming a stored Binary), else the first stored DocumentReference
// whose context.related references the report (its content[0].attachment,
// data or Binary url). Attachments elsewhere (http URLs) are never fetched.
//
// Results are not split by center: any authenticated center may list a
// patient's results (the patient, not the center, owns them). Listing scans
// the current DiagnosticReports (whole-reference pre-filter, then decode):
// about 65 ms over 10,000 reports on SQLite.
//
// Nothing of a result's content, its download code or a patient's ID
// number is logged or put in an error: logs carry report ids, counts and
// sizes only.
package results

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/catalog"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// Mapping is the shipped mapping of a result record.
const Mapping = "tuotempo/result"

// UserTIDSystem is the Patient identifier system of tuOtempO's USER_TID.
const UserTIDSystem = "urn:fhirbridge:tuotempo:user-tid"

// maxResourceBytes bounds a stored DiagnosticReport, Patient or
// DocumentReference read back (their content lives in Binaries or data
// bounded by MaxContentBytes).
const maxResourceBytes = 1 << 20

// ListIn are getTestResultsList's parameters (C.2.1).
var ListIn = []ws.Field{
	{Name: "USER_LID", Max: 50, Doc: "ID of the patient in the bridge (the FHIR Patient id); this or USER_TID"},
	{Name: "USER_TID", Max: 50, Doc: "ID of the patient in tuOtempO; this or USER_LID"},
	{Name: "RESULT_START_DATE", Max: 10, Doc: "results issued since this day (dd/mm/yyyy); default start_days ago"},
}

// ListOut are getTestResultsList's record fields (C.2.1).
var ListOut = []ws.Field{
	{Name: "DOWNLOAD_LID", Required: true, Max: 50, Doc: "ID of the result"},
	{Name: "STATUS", Required: true, Max: 10, Doc: "Valid or Cancelled"},
	{Name: "DOWNLOAD_CODE", Required: true, Max: 50, Doc: "the code the patient holds to request the result"},
	{Name: "DOWNLOAD_FILENAME", Max: 255, Doc: "name of the result's file"},
	{Name: "DOWNLOAD_TYPE", Required: true, Max: 10, Doc: "the file's extension (pdf)"},
	{Name: "USER_LID", Required: true, Max: 50, Doc: "ID of the patient in the bridge"},
	{Name: "USER_TID", Max: 50, Doc: "ID of the patient in tuOtempO"},
	{Name: "USER_MOBILE_PHONE", Max: 50, Doc: "mobile phone (empty when the patient has none)"},
	{Name: "USER_EMAIL", Max: 50, Doc: "e-mail"},
	{Name: "USER_ID_NUMBER", Required: true, Max: 50, Doc: "ID number, checked with DOWNLOAD_CODE on delivery"},
}

// ContentIn are getTestResultContent's parameters (C.2.2): the bridge
// also asks for the pair the patient proves.
var ContentIn = []ws.Field{
	{Name: "DOWNLOAD_LID", Required: true, Max: 50, Doc: "ID of the result"},
	{Name: "DOWNLOAD_CODE", Required: true, Max: 50, Doc: "the result's download code, as the patient gave it"},
	{Name: "USER_ID_NUMBER", Required: true, Max: 50, Doc: "the patient's ID number, as the patient gave it"},
}

// ContentOut are getTestResultContent's record fields (C.2.2).
var ContentOut = []ws.Field{
	{Name: "DOWNLOAD_LID", Required: true, Max: 50, Doc: "ID of the result"},
	{Name: "DOWNLOAD_CONTENT", Binary: true, Doc: "the result's file (when STATUS is Valid)"},
	{Name: "STATUS", Required: true, Max: 10, Doc: "Valid or Cancelled"},
	{Name: "ERROR_MESSAGE", Max: 500, Doc: "why there is no content"},
}

// Answers of getTestResultContent without content. notFound covers an
// unknown report and a wrong code or ID number alike.
const (
	msgNotFound    = "not found"
	msgCancelled   = "cancelled"
	msgUnavailable = "content unavailable"
)

// Operations returns getTestResultsList and getTestResultContent over st.
// cfg is copied and its defaults filled; an invalid cfg is an error. log
// may be nil.
func Operations(cfg Config, st *store.Store, log *slog.Logger) ([]*ws.Operation, error) {
	return operations(cfg, st, log, time.Now)
}

func operations(cfg Config, st *store.Store, log *slog.Logger, now func() time.Time) ([]*ws.Operation, error) {
	cfg.FillDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("tuotempo results: %w", errors.Join(errs...))
	}
	if st == nil {
		return nil, errors.New("tuotempo results: no store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, ok := shipped.Path(Mapping)
	if !ok {
		return nil, fmt.Errorf("tuotempo results: shipped mapping %s missing", Mapping)
	}
	m, err := mapping.Load(shipped.FS, p, map[string]string{
		"download_code_system": cfg.DownloadCodeSystem,
		"id_number_system":     cfg.IDNumberSystem,
	})
	if err != nil {
		return nil, fmt.Errorf("tuotempo results: loading %s: %w", Mapping, err)
	}
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("tuotempo results: timezone %q: %w", cfg.TimeZone, err)
	}
	s := &service{cfg: cfg, st: st, log: log, m: m, loc: loc, now: now}
	return []*ws.Operation{
		{
			Name: "getTestResultsList", Section: "C.2.1",
			Doc: "The patient's medical results (DiagnosticReports) issued since RESULT_START_DATE: Valid, or Cancelled when withdrawn.",
			In:  ListIn, Out: ListOut, List: true, Call: s.list,
		},
		{
			Name: "getTestResultContent", Section: "C.2.2",
			Doc: "One result's file, when DOWNLOAD_CODE and USER_ID_NUMBER match the result's; otherwise STATUS Cancelled with ERROR_MESSAGE.",
			In:  ContentIn, Out: ContentOut, Call: s.content,
		},
	}, nil
}

// service answers both operations.
type service struct {
	cfg Config
	st  *store.Store
	log *slog.Logger
	m   *mapping.Mapping
	loc *time.Location
	now func() time.Time
}

// list answers getTestResultsList.
func (s *service) list(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
	since, err := s.since(req.Get("RESULT_START_DATE"))
	if err != nil {
		return nil, err
	}
	pid, err := s.patient(ctx, req.Get("USER_LID"), req.Get("USER_TID"))
	if err != nil {
		return nil, err
	}
	var reports []*fhir.Value
	err = s.st.Current(ctx, "DiagnosticReport", func(id string, _ int, body []byte) error {
		if !mentions(body, "Patient/"+pid) {
			return nil
		}
		rep, ok := s.decode("DiagnosticReport", id, body)
		if !ok {
			return nil
		}
		if typ, sid := fhir.SplitReference(rep.Get("subject").GetString("reference")); typ != "Patient" || sid != pid {
			return nil
		}
		if t, ok := reportTime(rep, s.loc); !ok || t.Before(since) {
			return nil
		}
		reports = append(reports, rep)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tuotempo getTestResultsList: reading reports: %w", err)
	}
	res := export.NewStoreResolver(ctx, s.st)
	var docs map[string]*fhir.Value
	out := []ws.Record{}
	for _, rep := range reports {
		var bundle *fhir.Value
		if rep.Get("presentedForm") == nil {
			if docs == nil {
				if docs, err = s.documents(ctx, ""); err != nil {
					return nil, err
				}
			}
			bundle = docBundle(docs[rep.GetString("id")])
		}
		recs, err := s.m.ApplyAll(rep, res, bundle)
		if err != nil {
			if rerr := res.Err(); rerr != nil {
				return nil, fmt.Errorf("tuotempo getTestResultsList: %w", rerr)
			}
			s.log.Warn("tuotempo getTestResultsList: DiagnosticReport left out", "id", rep.GetString("id"), "err", err)
			continue
		}
		for _, r := range recs {
			out = append(out, catalog.Record(r))
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("tuotempo getTestResultsList: %w", err)
	}
	s.log.Debug("tuotempo getTestResultsList answered", "results", len(out))
	return out, nil
}

// since is the start of the window: RESULT_START_DATE's midnight, else
// StartDays before today, in the configured zone.
func (s *service) since(param string) (time.Time, error) {
	if param == "" {
		y, mo, d := s.now().In(s.loc).Date()
		return time.Date(y, mo, d-s.cfg.StartDays, 0, 0, 0, 0, s.loc), nil
	}
	t, err := time.ParseInLocation("02/01/2006", param, s.loc)
	if err != nil {
		return time.Time{}, ws.Errorf(ws.BadRequest, "RESULT_START_DATE", "want a date dd/mm/yyyy")
	}
	return t, nil
}

// patient returns the Patient id USER_LID or USER_TID names (USER_LID
// first), NotFound when there is none.
func (s *service) patient(ctx context.Context, lid, tid string) (string, error) {
	switch {
	case lid != "":
		_, _, err := s.st.GetResource(ctx, "Patient", lid)
		if errors.Is(err, store.ErrNotFound) {
			return "", ws.Errorf(ws.NotFound, "USER_LID", "no such patient")
		}
		if err != nil {
			return "", fmt.Errorf("tuotempo getTestResultsList: reading the patient: %w", err)
		}
		return lid, nil
	case tid != "":
		var found string
		err := s.st.Current(ctx, "Patient", func(id string, _ int, body []byte) error {
			if found != "" || !bytes.Contains(body, []byte(UserTIDSystem)) {
				return nil
			}
			p, ok := s.decode("Patient", id, body)
			if !ok {
				return nil
			}
			for _, it := range items(p.Get("identifier")) {
				if it.GetString("system") == UserTIDSystem && it.GetString("value") == tid {
					found = id
				}
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("tuotempo getTestResultsList: finding the patient: %w", err)
		}
		if found == "" {
			return "", ws.Errorf(ws.NotFound, "USER_TID", "no such patient")
		}
		return found, nil
	}
	return "", ws.Errorf(ws.BadRequest, "USER_LID", "USER_LID or USER_TID is required")
}

// documents maps report ids to the first current DocumentReference whose
// context.related references them; only report only when not "".
func (s *service) documents(ctx context.Context, only string) (map[string]*fhir.Value, error) {
	out := map[string]*fhir.Value{}
	err := s.st.Current(ctx, "DocumentReference", func(id string, _ int, body []byte) error {
		if !bytes.Contains(body, []byte("DiagnosticReport")) || (only != "" && !bytes.Contains(body, []byte(only))) {
			return nil
		}
		d, ok := s.decode("DocumentReference", id, body)
		if !ok {
			return nil
		}
		for _, r := range items(d.Get("context").Get("related")) {
			typ, rid := fhir.SplitReference(r.GetString("reference"))
			if typ == "DiagnosticReport" && (only == "" || rid == only) && out[rid] == nil {
				out[rid] = d
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tuotempo results: reading document references: %w", err)
	}
	return out, nil
}

// content answers getTestResultContent.
func (s *service) content(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
	lid := req.Get("DOWNLOAD_LID")
	answer := func(status, msg string) ([]ws.Record, error) {
		return []ws.Record{{"DOWNLOAD_LID": lid, "STATUS": status, "ERROR_MESSAGE": msg}}, nil
	}
	body, _, err := s.st.GetResource(ctx, "DiagnosticReport", lid)
	if errors.Is(err, store.ErrNotFound) {
		return answer("Cancelled", msgNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("tuotempo getTestResultContent: reading the report: %w", err)
	}
	rep, ok := s.decode("DiagnosticReport", lid, body)
	if !ok {
		return answer("Cancelled", msgNotFound)
	}
	var doc *fhir.Value
	if rep.Get("presentedForm") == nil {
		docs, err := s.documents(ctx, lid)
		if err != nil {
			return nil, err
		}
		doc = docs[lid]
	}
	res := export.NewStoreResolver(ctx, s.st)
	recs, err := s.m.ApplyAll(rep, res, docBundle(doc))
	if rerr := res.Err(); rerr != nil {
		return nil, fmt.Errorf("tuotempo getTestResultContent: %w", rerr)
	}
	if err != nil {
		s.log.Warn("tuotempo getTestResultContent: report not mappable", "id", lid, "err", err)
		return answer("Cancelled", msgNotFound)
	}
	if len(recs) == 0 {
		return answer("Cancelled", msgNotFound)
	}
	rec := catalog.Record(recs[0])
	// Both compared in constant time, always both, so neither the answer
	// nor its timing tells which part was wrong.
	okCode := subtle.ConstantTimeCompare([]byte(req.Get("DOWNLOAD_CODE")), []byte(rec["DOWNLOAD_CODE"]))
	okID := subtle.ConstantTimeCompare([]byte(req.Get("USER_ID_NUMBER")), []byte(rec["USER_ID_NUMBER"]))
	if okCode&okID != 1 {
		s.log.Info("tuotempo getTestResultContent: download code or ID number did not match", "id", lid)
		return answer("Cancelled", msgNotFound)
	}
	if rec["STATUS"] != "Valid" {
		return answer("Cancelled", msgCancelled)
	}
	att := first(rep.Get("presentedForm"))
	if att == nil && doc != nil {
		att = first(doc.Get("content")).Get("attachment")
	}
	data, err := s.attachment(ctx, att)
	if err != nil {
		return nil, fmt.Errorf("tuotempo getTestResultContent %s: %w", lid, err)
	}
	if data == nil {
		s.log.Warn("tuotempo getTestResultContent: no content within the limit", "id", lid, "max_bytes", s.cfg.MaxContentBytes)
		return answer("Cancelled", msgUnavailable)
	}
	s.log.Info("tuotempo getTestResultContent: content sent", "id", lid, "bytes", len(data))
	return []ws.Record{{"DOWNLOAD_LID": lid, "DOWNLOAD_CONTENT": string(data), "STATUS": "Valid"}}, nil
}

// attachment returns the bytes of att: its data, else the stored Binary
// its url names. nil (and no error) when there is none, it is malformed,
// elsewhere, or beyond MaxContentBytes; an error only when the store
// fails.
func (s *service) attachment(ctx context.Context, att *fhir.Value) ([]byte, error) {
	if att == nil {
		return nil, nil
	}
	if d := att.Get("data"); d != nil && d.Kind == fhir.String {
		return s.base64(d.Str), nil
	}
	typ, id := fhir.SplitReference(att.GetString("url"))
	if typ != "Binary" {
		return nil, nil
	}
	body, _, err := s.st.GetResource(ctx, "Binary", id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Binary/%s: %w", id, err)
	}
	if int64(len(body)) > int64(base64.StdEncoding.EncodedLen(int(s.cfg.MaxContentBytes)))+maxResourceBytes {
		return nil, nil
	}
	b, err := fhir.Decode(body, fhir.DecodeOptions{MaxElements: 10000})
	if err != nil {
		return nil, nil
	}
	if d := b.Get("data"); d != nil && d.Kind == fhir.String {
		return s.base64(d.Str), nil
	}
	return nil, nil
}

// base64 decodes FHIR base64Binary text within MaxContentBytes; nil when
// it is malformed, empty or too large.
func (s *service) base64(text string) []byte {
	text = strings.Join(strings.Fields(text), "")
	if int64(base64.StdEncoding.DecodedLen(len(text))) > s.cfg.MaxContentBytes+2 {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(b) == 0 || int64(len(b)) > s.cfg.MaxContentBytes {
		return nil
	}
	return b
}

// decode reads a stored resource within maxResourceBytes; a bad one is
// logged by id and skipped.
func (s *service) decode(typ, id string, body []byte) (*fhir.Value, bool) {
	if len(body) > maxResourceBytes {
		s.log.Warn("tuotempo results: stored resource too large, skipped", "type", typ, "id", id, "bytes", len(body))
		return nil, false
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{MaxElements: 100000})
	if err != nil {
		s.log.Warn("tuotempo results: stored resource unreadable, skipped", "type", typ, "id", id)
		return nil, false
	}
	return v, true
}

// docBundle is the collection Bundle the mapping sees as %bundle: the
// report's DocumentReference, or nil.
func docBundle(doc *fhir.Value) *fhir.Value {
	if doc == nil {
		return nil
	}
	e := fhir.NewObject()
	e.Set("resource", doc)
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString("collection"))
	b.Set("entry", fhir.NewArray(e))
	return b
}

// reportTime is when the report was issued, else its effective time (a
// partial date is its first instant in loc).
func reportTime(rep *fhir.Value, loc *time.Location) (time.Time, bool) {
	for _, s := range []string{rep.GetString("issued"), rep.GetString("effectiveDateTime"), rep.Get("effectivePeriod").GetString("start")} {
		if s == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, true
		}
		for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// mentions reports whether body holds the reference ref ("Patient/p7")
// as a whole: followed by the end of the string or "/_history". Stored
// bodies are written by fhir.Value.JSON, which never escapes "/", so this
// pre-filter spares decoding the reports of other patients.
func mentions(body []byte, ref string) bool {
	r := []byte(ref)
	for {
		i := bytes.Index(body, r)
		if i < 0 {
			return false
		}
		body = body[i+len(r):]
		if len(body) > 0 && (body[0] == '"' || body[0] == '/') {
			return true
		}
	}
}

// items returns the elements of an array value (nil otherwise).
func items(v *fhir.Value) []*fhir.Value {
	if v == nil || v.Kind != fhir.Array {
		return nil
	}
	return v.Items
}

// first returns the first element of an array value, or nil.
func first(v *fhir.Value) *fhir.Value {
	if it := items(v); len(it) > 0 {
		return it[0]
	}
	return nil
}
