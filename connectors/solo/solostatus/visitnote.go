package solostatus

// Visit notes back: once an appointment is finished (SyncAppointment
// stores it fulfilled), a job of VisitNoteFlow reads its visit notes
// (GET /qapi/v1/appointments/{SAID}/visit-note, one note per template) and
// stores each as a QuestionnaireResponse (mapping solo/visit-note) and each
// comment as a Communication (solo/visit-note-comment), with stable ids so
// a re-read of an unchanged note stores no new version. Changed resources
// are enqueued for the EHR when EHRFlow is set. What the mapping language
// cannot compute — the question paths as a tree, the named time zones, the
// stable ids — is computed here into the record's "bridge" member (see
// mapping/shipped/solo/visit-note.yaml for each key).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// VisitNoteFlow is the worker flow whose jobs read a finished
// appointment's visit notes back from Solo: the job's data names the SAID,
// and the queue's backoff, circuit and dead letters apply to Solo's errors.
const VisitNoteFlow = "solo/visit-note"

// ErrNoVisitNote is the permanent outcome of a job for an appointment
// Solo has no visit note for (Solo answers 404).
var ErrNoVisitNote = errors.New("solo has no visit note for the appointment")

// Bounds of a visit-note answer: larger ones are refused (permanently).
const (
	maxNoteBytes     = 8 << 20
	maxNotes         = 100
	maxNoteResponses = 5000
	maxNoteComments  = 5000
	maxNoteValues    = 1000
	maxPathSegments  = 32
	maxNoteDepth     = 3 // the item nesting solo/visit-note maps
)

// VisitNoteSource is what reading visit notes needs of Solo
// (*solo.Connector): the raw answer, or a classified error (a 404 is a
// permanent *solo.StatusError).
type VisitNoteSource interface {
	VisitNoteJSON(ctx context.Context, said string) ([]byte, error)
}

// VisitNotes reads visit notes back. Set Store, Solo, Note and Comment
// (LoadVisitNoteMappings); the rest is optional.
type VisitNotes struct {
	Store *store.Store
	Solo  VisitNoteSource
	// Note is the solo/visit-note mapping, Comment solo/visit-note-comment.
	Note, Comment *mapping.Mapping
	// EHRFlow, when set (delivery.EHRFlow), is the flow on which every
	// changed QuestionnaireResponse and Communication is enqueued.
	EHRFlow string
	// Log receives ids and counts only; nil discards.
	Log *slog.Logger
	// MaxAttempts bounds the tries of a job (0: the queue's bound).
	MaxAttempts int
}

// LoadVisitNoteMappings loads the shipped solo/visit-note and
// solo/visit-note-comment mappings.
func LoadVisitNoteMappings() (note, comment *mapping.Mapping, err error) {
	if note, err = loadShipped("solo/visit-note"); err != nil {
		return nil, nil, err
	}
	if comment, err = loadShipped("solo/visit-note-comment"); err != nil {
		return nil, nil, err
	}
	return note, comment, nil
}

// VisitNoteID is the id of the QuestionnaireResponse of appointment said's
// note for template templateID.
func VisitNoteID(said, templateID string) string {
	return "solo-visit-note-" + said + "-" + shortHash(templateID)
}

// VisitNoteCommentID is the id of the Communication of a comment.
func VisitNoteCommentID(said, commentID string) string {
	return "solo-visit-note-comment-" + said + "-" + shortHash(commentID)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// NoteResult says what one read of an appointment's notes stored.
type NoteResult struct {
	// Notes and Comments are the QuestionnaireResponse and Communication
	// ids stored (changed or not); Changed counts new versions.
	Notes, Comments []string
	Changed         int
}

func (v *VisitNotes) log() *slog.Logger {
	if v.Log != nil {
		return v.Log
	}
	return slog.New(slog.DiscardHandler)
}

// noteJob is a job's data.
type noteJob struct {
	SAID string `json:"said"`
}

// enqueueVisitNote adds, in the transaction that stored the finished
// Appointment's version, the job that reads its notes. The key names the
// version, so a later change (e.g. the sign-off after completed) reads
// them again and a replayed event adds nothing.
func enqueueVisitNote(ctx context.Context, tx *store.Tx, said string, version int) error {
	data, err := json.Marshal(noteJob{SAID: said})
	if err != nil {
		return fmt.Errorf("enqueueing the visit note of solo appointment %s: %w", said, err)
	}
	_, err = delivery.EnqueueWork(ctx, tx, delivery.WorkJob{Flow: VisitNoteFlow, Kind: "visit-note",
		Key: "appointment:" + said + "/" + strconv.Itoa(version), Data: data}) // not a URL path: a job key
	return err
}

// Flow is VisitNoteFlow's delivery flow.
func (v *VisitNotes) Flow() delivery.Flow {
	return delivery.Flow{Vendor: Vendor, Work: v.Work, MaxAttempts: v.MaxAttempts}
}

// Work does one job of VisitNoteFlow. No note at Solo (404) and an
// appointment the bridge does not know are permanent outcomes (the job is
// dead-lettered with that reason); Solo's other errors retry as the queue
// does.
func (v *VisitNotes) Work(ctx context.Context, w delivery.Work) error {
	var d noteJob
	if err := json.Unmarshal(w.Data, &d); err != nil || d.SAID == "" {
		return connectors.Permanently(fmt.Errorf("solo visit-note job %d: no appointment id in its data", w.JobID))
	}
	_, err := v.Fetch(ctx, d.SAID)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoVisitNote), errors.Is(err, ErrUnknown):
		v.log().Info("solo visit note not read", "said", d.SAID, "reason", err)
		return connectors.Permanently(err)
	}
	v.log().Warn("solo visit note read failed", "said", d.SAID, "attempt", w.Attempt, "error", err)
	return err
}

// Fetch reads the visit notes of Solo appointment said and stores them,
// in one transaction, as QuestionnaireResponses and Communications.
func (v *VisitNotes) Fetch(ctx context.Context, said string) (NoteResult, error) {
	var res NoteResult
	op := "reading the visit note of solo appointment " + said
	fhirID, err := v.Store.FHIRID(ctx, Vendor, "Appointment", said)
	if errors.Is(err, store.ErrNotFound) {
		return res, fmt.Errorf("%s: %w", op, ErrUnknown)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", op, err)
	}
	data, err := v.Solo.VisitNoteJSON(ctx, said)
	if err != nil {
		if isNotFound(err) {
			return res, fmt.Errorf("%s: %w (404)", op, ErrNoVisitNote)
		}
		return res, fmt.Errorf("%s: %w", op, err)
	}
	notes, err := parseVisitNotes(data)
	if err != nil {
		return res, fmt.Errorf("%s: %w", op, connectors.Permanently(err))
	}
	err = v.Store.InTx(ctx, func(tx *store.Tx) error {
		body, _, err := tx.GetResource(ctx, "Appointment", fhirID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Appointment %s: %w", fhirID, ErrUnknown)
		}
		if err != nil {
			return err
		}
		appt, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("reading stored Appointment %s: %w", fhirID, err)
		}
		ctxRefs := noteRefs{said: said, patient: patientRef(appt), appointment: "Appointment/" + fhirID, encounter: "Encounter/" + EncounterID(said)}
		for _, n := range notes {
			qrID := VisitNoteID(said, n.templateID)
			in, err := n.record(ctxRefs, qrID)
			if err != nil {
				return connectors.Permanently(err)
			}
			qr, err := v.Note.Reverse(in)
			if err != nil {
				return connectors.Permanently(fmt.Errorf("mapping the visit note: %w", err))
			}
			if err := v.put(ctx, tx, "QuestionnaireResponse", qrID, qr, &res); err != nil {
				return err
			}
			res.Notes = append(res.Notes, qrID)
			for _, c := range n.comments {
				cid := VisitNoteCommentID(said, c.id)
				in, err := c.record(ctxRefs, cid, "QuestionnaireResponse/"+qrID)
				if err != nil {
					return connectors.Permanently(err)
				}
				com, err := v.Comment.Reverse(in)
				if err != nil {
					return connectors.Permanently(fmt.Errorf("mapping a visit-note comment: %w", err))
				}
				if err := v.put(ctx, tx, "Communication", cid, com, &res); err != nil {
					return err
				}
				res.Comments = append(res.Comments, cid)
			}
		}
		return nil
	})
	if err != nil {
		return NoteResult{}, fmt.Errorf("%s: %w", op, err)
	}
	v.log().Info("solo visit note read", "said", said, "appointment", fhirID, "notes", len(res.Notes),
		"comments", len(res.Comments), "changed", res.Changed)
	return res, nil
}

// put stores one resource and, when it changed, enqueues its write-back.
func (v *VisitNotes) put(ctx context.Context, tx *store.Tx, typ, id string, res *fhir.Value, out *NoteResult) error {
	version, changed, err := tx.PutValue(ctx, typ, id, res)
	if err != nil || !changed {
		return err
	}
	out.Changed++
	if v.EHRFlow == "" {
		return nil
	}
	return delivery.Enqueue(ctx, tx, delivery.Job{Flow: v.EHRFlow, ResourceType: typ, ResourceID: id, Version: version})
}

// noteRefs are the references of the records of one appointment.
type noteRefs struct {
	said, patient, appointment, encounter string
}

// visitNote is one parsed note.
type visitNote struct {
	templateID, name string
	items            []*noteNode
	authored         time.Time
	comments         []noteComment
}

// noteNode is an item of the tree built from the question paths.
type noteNode struct {
	LinkID   string           `json:"linkId"`
	Text     string           `json:"text,omitempty"`
	Answered string           `json:"answered,omitempty"`
	Answers  []map[string]any `json:"answers,omitempty"`
	Items    []*noteNode      `json:"items,omitempty"`
}

type noteComment struct {
	id, message, authorID, username string
	postedAt                        int64
	hasPosted                       bool
}

// wire shapes of the answer (spec "Appointment Note").
type (
	wireNote struct {
		ID       json.RawMessage `json:"id"`
		Template *struct {
			Name *string         `json:"name"`
			Flow json.RawMessage `json:"flow"`
		} `json:"template"`
		Comments  []wireComment  `json:"comments"`
		Responses []wireResponse `json:"responses"`
	}
	wireComment struct {
		ID       json.RawMessage `json:"id"`
		Message  *string         `json:"message"`
		PostedAt json.RawMessage `json:"postedAt"`
		Author   *struct {
			ID       json.RawMessage `json:"id"`
			Username *string         `json:"username"`
		} `json:"author"`
	}
	wireResponse struct {
		DateTime *struct {
			Date         string `json:"date"`
			TimezoneType int    `json:"timezone_type"`
			Timezone     string `json:"timezone"`
		} `json:"dateTime"`
		Question []string          `json:"question"`
		Response []json.RawMessage `json:"response"`
	}
	wireFlow struct {
		Sections []struct {
			Name      string `json:"name"`
			Questions []struct {
				ID   json.RawMessage `json:"id"`
				Name string          `json:"name"`
			} `json:"questions"`
		} `json:"sections"`
	}
)

// errNoteShape is the reason for an answer that is not the documented
// array; it never quotes the answer (which holds patient data).
var errNoteShape = errors.New("the answer is not the documented visit-note array")

// parseVisitNotes reads Solo's answer. Errors name positions, never values.
func parseVisitNotes(data []byte) ([]visitNote, error) {
	if len(data) > maxNoteBytes {
		return nil, fmt.Errorf("the visit-note answer is larger than %d bytes", maxNoteBytes)
	}
	var wire []wireNote
	if err := json.Unmarshal(data, &wire); err != nil {
		return nil, errNoteShape
	}
	if len(wire) > maxNotes {
		return nil, fmt.Errorf("the visit-note answer has more than %d notes", maxNotes)
	}
	out := make([]visitNote, 0, len(wire))
	for i, w := range wire {
		n := visitNote{templateID: scalar(w.ID)}
		if n.templateID == "" || len(n.templateID) > 256 {
			return nil, fmt.Errorf("note %d: no usable template id", i)
		}
		if len(w.Responses) > maxNoteResponses || len(w.Comments) > maxNoteComments {
			return nil, fmt.Errorf("note %d: more than %d responses or %d comments", i, maxNoteResponses, maxNoteComments)
		}
		ids := map[string]string{}
		if w.Template != nil {
			if w.Template.Name != nil {
				n.name = *w.Template.Name
			}
			var f wireFlow
			if len(w.Template.Flow) > 0 && json.Unmarshal(w.Template.Flow, &f) == nil {
				for _, s := range f.Sections {
					for _, q := range s.Questions {
						if id := scalar(q.ID); id != "" {
							ids[s.Name+"\x00"+q.Name] = id
						}
					}
				}
			}
		}
		t := newNoteTree(ids)
		for j, r := range w.Responses {
			at, err := r.instant()
			if err != nil {
				return nil, fmt.Errorf("note %d response %d: %w", i, j, err)
			}
			if at.After(n.authored) {
				n.authored = at
			}
			answers, err := answerValues(r.Response)
			if err != nil {
				return nil, fmt.Errorf("note %d response %d: %w", i, j, err)
			}
			if err := t.add(r.Question, at, answers); err != nil {
				return nil, fmt.Errorf("note %d response %d: %w", i, j, err)
			}
		}
		n.items = t.roots
		for j, c := range w.Comments {
			nc := noteComment{id: scalar(c.ID)}
			if nc.id == "" || len(nc.id) > 256 {
				return nil, fmt.Errorf("note %d comment %d: no usable id", i, j)
			}
			if c.Message != nil {
				nc.message = *c.Message
			}
			if c.Author != nil {
				nc.authorID = scalar(c.Author.ID)
				if c.Author.Username != nil {
					nc.username = *c.Author.Username
				}
			}
			if p := scalar(c.PostedAt); p != "" {
				sec, err := strconv.ParseInt(p, 10, 64)
				if err != nil || sec < 0 || sec > 1<<40 {
					return nil, fmt.Errorf("note %d comment %d: postedAt is not a Unix time", i, j)
				}
				nc.postedAt, nc.hasPosted = sec, true
			}
			n.comments = append(n.comments, nc)
		}
		out = append(out, n)
	}
	return out, nil
}

// instant converts a response's dateTime — a PHP DateTime: date
// "2006-01-02 15:04:05.000000" in a named zone (timezone_type 3) or at an
// offset (timezone_type 1) — to a UTC time; zero when there is none.
func (r wireResponse) instant() (time.Time, error) {
	d := r.DateTime
	if d == nil || d.Date == "" {
		return time.Time{}, nil
	}
	var loc *time.Location
	switch d.TimezoneType {
	case 3:
		if d.Timezone == "" || len(d.Timezone) > 64 || strings.Contains(d.Timezone, "..") {
			return time.Time{}, errors.New("dateTime has no usable time zone name")
		}
		l, err := time.LoadLocation(d.Timezone)
		if err != nil {
			return time.Time{}, errors.New("dateTime names an unknown time zone")
		}
		loc = l
	case 1:
		off, err := time.Parse("-07:00", d.Timezone)
		if err != nil {
			return time.Time{}, errors.New("dateTime has no usable offset")
		}
		_, sec := off.Zone()
		loc = time.FixedZone("", sec)
	default:
		return time.Time{}, errors.New("dateTime has an unsupported timezone_type (1 and 3 are read)")
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", d.Date, loc)
	if err != nil {
		return time.Time{}, errors.New("dateTime.date is not \"YYYY-MM-DD hh:mm:ss.uuuuuu\"")
	}
	return t.UTC(), nil
}

// answerValues types each response value by its JSON type; null and ""
// are skipped.
func answerValues(raw []json.RawMessage) ([]map[string]any, error) {
	if len(raw) > maxNoteValues {
		return nil, fmt.Errorf("more than %d values", maxNoteValues)
	}
	var out []map[string]any
	for k, r := range raw {
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("value %d is not JSON", k)
		}
		switch x := v.(type) {
		case nil:
		case string:
			if x != "" {
				out = append(out, map[string]any{"string": x})
			}
		case bool:
			out = append(out, map[string]any{"boolean": x})
		case json.Number:
			if _, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
				out = append(out, map[string]any{"integer": x})
			} else {
				out = append(out, map[string]any{"decimal": x})
			}
		default:
			return nil, fmt.Errorf("value %d is neither text, a number nor a boolean", k)
		}
	}
	return out, nil
}

// noteTree builds items from question paths.
type noteTree struct {
	ids   map[string]string // section + "\x00" + question → question id
	roots []*noteNode
	index map[string]*noteNode // joined path → node
}

func newNoteTree(ids map[string]string) *noteTree {
	return &noteTree{ids: ids, index: map[string]*noteNode{}}
}

// add places one response: groups for the leading segments, the question
// for the last (a deeper path keeps two groups and joins the rest).
func (t *noteTree) add(path []string, at time.Time, answers []map[string]any) error {
	if len(path) == 0 || len(path) > maxPathSegments {
		return fmt.Errorf("the question path has %d segments (1 to %d are read)", len(path), maxPathSegments)
	}
	for _, s := range path {
		if strings.TrimSpace(s) == "" {
			return errors.New("the question path has an empty segment")
		}
	}
	if len(path) > maxNoteDepth {
		path = append(append([]string{}, path[:maxNoteDepth-1]...), strings.Join(path[maxNoteDepth-1:], " / "))
	}
	siblings := &t.roots
	for i, seg := range path {
		key := strings.Join(path[:i+1], "/")
		n, ok := t.index[key]
		if !ok {
			n = &noteNode{LinkID: key, Text: seg}
			if i == len(path)-1 && len(path) == 2 {
				if id := t.ids[path[0]+"\x00"+seg]; id != "" {
					n.LinkID = id
				}
			}
			t.index[key] = n
			*siblings = append(*siblings, n)
		}
		if i == len(path)-1 {
			n.Answers = answers // a repeated path: the later response wins
			if !at.IsZero() {
				n.Answered = at.Format(time.RFC3339Nano)
			}
		}
		siblings = &n.Items
	}
	return nil
}

// record is the mapping input of a note: its id, template name and the
// bridge member.
func (n visitNote) record(r noteRefs, id string) (*fhir.Value, error) {
	b := map[string]any{"id": id, "said": r.said, "appointment": r.appointment, "encounter": r.encounter, "items": n.items}
	if r.patient != "" {
		b["patient"] = r.patient
	}
	if !n.authored.IsZero() {
		b["authored"] = n.authored.Format(time.RFC3339Nano)
	}
	rec := map[string]any{"id": n.templateID, "bridge": b}
	if n.name != "" {
		rec["template"] = map[string]any{"name": n.name}
	}
	return toValue(rec)
}

// record is the mapping input of a comment.
func (c noteComment) record(r noteRefs, id, about string) (*fhir.Value, error) {
	b := map[string]any{"id": id, "about": about, "encounter": r.encounter}
	if r.patient != "" {
		b["patient"] = r.patient
	}
	if c.hasPosted {
		b["sent"] = time.Unix(c.postedAt, 0).UTC().Format(time.RFC3339)
	}
	rec := map[string]any{"id": c.id, "bridge": b}
	if c.message != "" {
		rec["message"] = c.message
	}
	author := map[string]any{}
	if c.authorID != "" {
		author["id"] = c.authorID
	}
	if c.username != "" {
		author["username"] = c.username
	}
	if len(author) > 0 {
		rec["author"] = author
	}
	return toValue(rec)
}

func toValue(v any) (*fhir.Value, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("building the mapping input: %w", err)
	}
	out, err := fhir.Decode(data, fhir.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("building the mapping input: %w", err)
	}
	return out, nil
}

// loadShipped loads one shipped mapping.
func loadShipped(name string) (*mapping.Mapping, error) {
	p, ok := shipped.Path(name)
	if !ok {
		return nil, fmt.Errorf("loading mapping %s: not shipped", name)
	}
	return mapping.Load(shipped.FS, p, nil)
}
