package solostatus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// Vendor is the crosswalk vendor name of Solo.
const Vendor = "solo"

// ErrUnknown is returned for a Solo id the bridge has no FHIR resource for
// (not in the crosswalk, or not stored), or that Solo does not know.
var ErrUnknown = errors.New("unknown to the bridge")

// Solo is what a Syncer needs of the Solo connector (*solo.Connector).
// Each method returns Solo's raw JSON answer or a classified error
// (connectors.Classify): a 404 is permanent.
type Solo interface {
	AppointmentJSON(ctx context.Context, said string) ([]byte, error)
	PatientJSONBySPID(ctx context.Context, spid string) ([]byte, error)
	EpisodeJSON(ctx context.Context, id string) ([]byte, error)
}

// Syncer maps Solo appointments back to FHIR. Set Store, Solo, Status and
// Encounter (see LoadMappings); the rest is optional. It is safe for
// concurrent use once configured.
type Syncer struct {
	Store *store.Store
	Solo  Solo
	// Status is the solo/appointment-status mapping, Encounter solo/encounter.
	Status, Encounter *mapping.Mapping
	// EHRFlow, when set (delivery.EHRFlow), is the delivery flow on which
	// every changed Appointment and Encounter is enqueued for the EHR.
	EHRFlow string
	// Log receives ids, counts and status codes only; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxAttempts bounds the tries of an event that keeps failing (the
	// job of WebhookFlow is then dead-lettered); 0 means the queue's
	// bound (delivery.Options.MaxAttempts). EHR write-backs retry as the
	// queue does.
	MaxAttempts int
	// VisitNotes, when set, enqueues a job of VisitNoteFlow in the
	// transaction that stores an Appointment fulfilled (see VisitNotes).
	VisitNotes bool
}

// LoadMappings loads the shipped solo/appointment-status and solo/encounter
// mappings.
func LoadMappings() (status, encounter *mapping.Mapping, err error) {
	load := func(name string) (*mapping.Mapping, error) {
		p, ok := shipped.Path(name)
		if !ok {
			return nil, fmt.Errorf("loading mapping %s: not shipped", name)
		}
		return mapping.Load(shipped.FS, p, nil)
	}
	if status, err = load("solo/appointment-status"); err != nil {
		return nil, nil, err
	}
	if encounter, err = load("solo/encounter"); err != nil {
		return nil, nil, err
	}
	return status, encounter, nil
}

// Result says what one sync stored.
type Result struct {
	AppointmentID, EncounterID string
	// Status is the FHIR Appointment status now stored.
	Status                               string
	AppointmentVersion, EncounterVersion int
	AppointmentChanged, EncounterChanged bool
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Syncer) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// EncounterID is the id of the Encounter of the visit with SAID said.
func EncounterID(said string) string { return "solo-visit-" + said }

// SyncAppointment fetches Solo appointment said (a SAID), maps it and
// stores the Appointment and the visit's Encounter in one transaction. It
// returns an error wrapping ErrUnknown when the SAID is in no crosswalk,
// the Appointment is not stored, or Solo answers 404.
func (s *Syncer) SyncAppointment(ctx context.Context, said string) (Result, error) {
	var res Result
	fhirID, err := s.Store.FHIRID(ctx, Vendor, "Appointment", said)
	if errors.Is(err, store.ErrNotFound) {
		return res, fmt.Errorf("syncing solo appointment %s: %w", said, ErrUnknown)
	}
	if err != nil {
		return res, fmt.Errorf("syncing solo appointment %s: %w", said, err)
	}
	data, err := s.Solo.AppointmentJSON(ctx, said)
	if err != nil {
		if isNotFound(err) {
			return res, fmt.Errorf("syncing solo appointment %s: %w: %w", said, ErrUnknown, err)
		}
		return res, fmt.Errorf("syncing solo appointment %s: %w", said, err)
	}
	rec, err := fhir.Decode(data, fhir.DecodeOptions{})
	if err != nil || rec.Kind != fhir.Object {
		return res, fmt.Errorf("syncing solo appointment %s: the answer is not a JSON object: %w",
			said, connectors.Permanently(errors.New("bad answer")))
	}
	res.AppointmentID, res.EncounterID = fhirID, EncounterID(said)
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		body, _, err := tx.GetResource(ctx, "Appointment", fhirID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Appointment %s: %w", fhirID, ErrUnknown)
		}
		if err != nil {
			return err
		}
		stored, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("reading stored Appointment %s: %w", fhirID, err)
		}
		in, err := s.withBridge(ctx, tx, rec, stored, fhirID)
		if err != nil {
			return err
		}
		part, err := s.Status.Reverse(in)
		if err != nil {
			return connectors.Permanently(fmt.Errorf("mapping the status: %w", err))
		}
		enc, err := s.Encounter.Reverse(in)
		if err != nil {
			return connectors.Permanently(fmt.Errorf("mapping the encounter: %w", err))
		}
		merged := merge(stored, part)
		res.Status = merged.GetString("status")
		if res.AppointmentVersion, res.AppointmentChanged, err = tx.PutResource(ctx, "Appointment", fhirID, merged.JSON()); err != nil {
			return err
		}
		if res.EncounterVersion, res.EncounterChanged, err = tx.PutResource(ctx, "Encounter", res.EncounterID, enc.JSON()); err != nil {
			return err
		}
		if s.VisitNotes && res.AppointmentChanged && res.Status == "fulfilled" {
			if err := enqueueVisitNote(ctx, tx, said, res.AppointmentVersion); err != nil {
				return err
			}
		}
		if s.EHRFlow == "" {
			return nil
		}
		if res.AppointmentChanged {
			if err := s.queuePush(ctx, tx, "Appointment", fhirID, res.AppointmentVersion); err != nil {
				return err
			}
		}
		if res.EncounterChanged {
			return s.queuePush(ctx, tx, "Encounter", res.EncounterID, res.EncounterVersion)
		}
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("syncing solo appointment %s: %w", said, err)
	}
	s.log().Info("solo appointment synced", "said", said, "appointment", fhirID, "status", res.Status,
		"appointment_version", res.AppointmentVersion, "changed", res.AppointmentChanged,
		"encounter", res.EncounterID, "encounter_version", res.EncounterVersion)
	return res, nil
}

// isNotFound reports a Solo 404.
func isNotFound(err error) bool {
	var se *solo.StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

// withBridge returns the Solo record with the "bridge" member the mappings
// read (see mapping/shipped/solo/encounter.yaml for each key and why it is
// computed here rather than in the mapping).
func (s *Syncer) withBridge(ctx context.Context, tx *store.Tx, rec, stored *fhir.Value, fhirID string) (*fhir.Value, error) {
	b := fhir.NewObject()
	b.Set("appointmentId", fhir.NewString(fhirID))
	if p := patientRef(stored); p != "" {
		b.Set("patient", fhir.NewString(p))
	}
	if d := rec.Get("date"); d != nil && d.Kind == fhir.Number {
		if sec, err := strconv.ParseInt(d.Str, 10, 64); err == nil {
			start := time.Unix(sec, 0).UTC()
			b.Set("start", fhir.NewString(start.Format(time.RFC3339)))
			if du := rec.Get("duration"); du != nil && du.Kind == fhir.Number {
				if n, err := strconv.ParseInt(du.Str, 10, 64); err == nil && n > 0 {
					b.Set("end", fhir.NewString(start.Add(time.Duration(n)*time.Second).Format(time.RFC3339)))
				}
			}
		}
	}
	if ep := scalarString(rec.Get("episodeOfCareId")); ep != "" {
		if id, err := s.Store.FHIRID(ctx, Vendor, "EpisodeOfCare", ep); err == nil {
			b.Set("episodeOfCare", fhir.NewString("EpisodeOfCare/"+id))
		}
	}
	if acct := scalarString(rec.Get("accountNumber")); acct != "" {
		if body, _, err := tx.GetResource(ctx, "Encounter", acct); err == nil {
			b.Set("partOf", fhir.NewString("Encounter/"+acct))
			if b.Get("episodeOfCare") == nil {
				if ev, err := fhir.Decode(body, fhir.DecodeOptions{}); err == nil {
					if eoc := ev.Get("episodeOfCare"); eoc != nil && eoc.Kind == fhir.Array && len(eoc.Items) > 0 {
						if ref := eoc.Items[0].GetString("reference"); strings.HasPrefix(ref, "EpisodeOfCare/") {
							b.Set("episodeOfCare", fhir.NewString(ref))
						}
					}
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), rec.Members...)}
	out.Set("bridge", b)
	return out, nil
}

// patientRef returns the stored Appointment's first "Patient/<id>" actor.
func patientRef(appt *fhir.Value) string {
	parts := appt.Get("participant")
	if parts == nil || parts.Kind != fhir.Array {
		return ""
	}
	for _, p := range parts.Items {
		if ref := p.Get("actor").GetString("reference"); strings.HasPrefix(ref, "Patient/") {
			return ref
		}
	}
	return ""
}

// scalarString is a string or number member as text.
func scalarString(v *fhir.Value) string {
	if v == nil || (v.Kind != fhir.String && v.Kind != fhir.Number) {
		return ""
	}
	return v.Str
}

// merge copies the members of the mapped partial resource part onto a copy
// of stored: status replaces, extensions replace those with the same url.
func merge(stored, part *fhir.Value) *fhir.Value {
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), stored.Members...)}
	for _, m := range part.Members {
		switch m.Key {
		case "resourceType", "id":
		case "extension":
			out.Set("extension", mergeExtensions(stored.Get("extension"), m.Value))
		default:
			out.Set(m.Key, m.Value)
		}
	}
	return out
}

func mergeExtensions(old, add *fhir.Value) *fhir.Value {
	out := fhir.NewArray()
	urls := map[string]bool{}
	if add != nil && add.Kind == fhir.Array {
		for _, e := range add.Items {
			urls[e.GetString("url")] = true
		}
	}
	if old != nil && old.Kind == fhir.Array {
		for _, e := range old.Items {
			if !urls[e.GetString("url")] {
				out.Items = append(out.Items, e)
			}
		}
	}
	if add != nil && add.Kind == fhir.Array {
		out.Items = append(out.Items, add.Items...)
	}
	return out
}
