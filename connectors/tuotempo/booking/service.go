// Package booking is tuOtempO's online booking answered from FHIR (guide
// B.2.2 and A.4): the web services searchAvailabilities, addAppointment,
// deleteAppointment, checkAppointment, getAppointments, SearchAppointments
// and CancelAppointment as [ws.Operation]s for the transports, and the
// [ws.Booker] every booking route uses.
//
// Availabilities are the free Slots of the center's Schedules, found in an
// index (migration line tuotempo-booking) that an observer of the delivery
// router keeps current in each ingest transaction. A booking is one store
// transaction: the Slot turns busy (a conditional update of its index row
// decides between concurrent callers, on SQLite and PostgreSQL alike), the
// Appointment is stored booked, a new Patient is matched or created, the
// answer is kept under the request's key (a retried call answers it again)
// and a job of the worker flow tuotempo-booking sends the change to the
// EHR as a FHIR transaction Bundle. Errors and logs carry ids and counts,
// never patient data.
//
// With slots.source ehr, [Service.SyncSlots] pulls the Schedules and
// Slots of the coming days from the EHR's FHIR server by search; its doc
// says how the bridge's pending bookings win over a stale EHR copy and how
// Slots the EHR removed stop being bookable.
package booking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
	"github.com/prometheus/client_golang/prometheus"
)

// UserTIDSystem is the Patient.identifier system of tuOtempO's patient id.
const UserTIDSystem = "urn:fhirbridge:tuotempo:user-tid"

// Service answers tuOtempO's booking web services from the store. Make it
// with New; it is safe for concurrent use.
type Service struct {
	cfg    *Config
	st     *store.Store
	router *delivery.Router
	log    *slog.Logger
	now    func() time.Time

	limits    syncLimits             // bounds of the slot pull
	syncTotal *prometheus.CounterVec // fhirbridge_tuotempo_slot_sync_total

	patient *mapping.Mapping
	mu      sync.Mutex
	avail   map[string]*mapping.Mapping // by time zone
	appt    map[string]*mapping.Mapping // by time zone
}

var _ ws.Booker = (*Service)(nil)

// New checks cfg (after filling its defaults in place), loads the shipped
// mappings and brings the index up to date with the store (rebuilt when it
// is empty or of an older layout). Register s.Observer() with router
// before serve ingests anything.
func New(cfg *Config, st *store.Store, router *delivery.Router, log *slog.Logger) (*Service, error) {
	cfg.FillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, st: st, router: router, log: log, now: time.Now, limits: defaultSyncLimits, syncTotal: newSyncCounter(),
		avail: map[string]*mapping.Mapping{}, appt: map[string]*mapping.Mapping{}}
	var err error
	if s.patient, err = loadShipped("tuotempo/patient", map[string]string{"id_number_system": cfg.IDNumberSystem}); err != nil {
		return nil, err
	}
	for _, c := range cfg.Centers { // load each zone's mappings now: a bad one fails New, not a call
		if _, err := s.mapping("tuotempo/availability", s.zoneName(c.LID)); err != nil {
			return nil, err
		}
		if _, err := s.mapping("tuotempo/appointment", s.zoneName(c.LID)); err != nil {
			return nil, err
		}
	}
	if err := s.rebuild(context.Background()); err != nil {
		return nil, fmt.Errorf("tuotempo booking: %w", err)
	}
	return s, nil
}

// loadShipped loads a shipped mapping with params.
func loadShipped(name string, params map[string]string) (*mapping.Mapping, error) {
	p, ok := shipped.Path(name)
	if !ok {
		return nil, fmt.Errorf("tuotempo booking: shipped mapping %s: %w", name, fs.ErrNotExist)
	}
	m, err := mapping.Load(shipped.FS, p, params)
	if err != nil {
		return nil, fmt.Errorf("tuotempo booking: loading mapping %s: %w", name, err)
	}
	return m, nil
}

// mapping returns the shipped mapping name (availability or appointment)
// for the time zone zone.
func (s *Service) mapping(name, zone string) (*mapping.Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cache := s.avail
	if name == "tuotempo/appointment" {
		cache = s.appt
	}
	if m := cache[zone]; m != nil {
		return m, nil
	}
	m, err := loadShipped(name, map[string]string{"timezone": zone})
	if err != nil {
		return nil, err
	}
	cache[zone] = m
	return m, nil
}

// zoneName is the IANA zone of center lid.
func (s *Service) zoneName(lid string) string {
	if c := s.cfg.center(lid); c != nil && c.TimeZone != "" {
		return c.TimeZone
	}
	return s.cfg.TimeZone
}

// zone is the location of center lid (validated by Config.Validate).
func (s *Service) zone(lid string) *time.Location {
	loc, err := time.LoadLocation(s.zoneName(lid))
	if err != nil {
		return time.UTC
	}
	return loc
}

// centerOf returns the configured center of a request, or a NotFound error.
func (s *Service) centerOf(lid string) (*ws.Center, error) {
	c := s.cfg.center(lid)
	if c == nil {
		return nil, ws.Errorf(ws.NotFound, "CENTER_LID", "no such center")
	}
	return c, nil
}

// inCenter reports whether an id list (",a,b,") names one of c's
// Locations; a center without Locations takes everything.
func inCenter(c *ws.Center, locs string) bool {
	if len(c.Locations) == 0 {
		return true
	}
	for _, l := range c.Locations {
		if l != "" && containsID(locs, l) {
			return true
		}
	}
	return false
}

// containsID reports whether the id list (",a,b,") holds id.
func containsID(list, id string) bool {
	for i := 0; i+len(id)+2 <= len(list); i++ {
		if list[i] == ',' && list[i+1:i+1+len(id)] == id && list[i+1+len(id)] == ',' {
			return true
		}
	}
	return false
}

// newID returns a fresh FHIR id (32 hex digits).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// toRecord turns a mapped record (a JSON object of strings) into a
// ws.Record.
func toRecord(v *fhir.Value) ws.Record {
	rec := ws.Record{}
	if v == nil {
		return rec
	}
	for _, m := range v.Members {
		if m.Value != nil && (m.Value.Kind == fhir.String || m.Value.Kind == fhir.Number) {
			rec[m.Key] = m.Value.Str
		}
	}
	return rec
}

// parseDay reads a tuOtempO date (dd/mm/yyyy, or yyyy-mm-dd) as midnight
// in loc.
func parseDay(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{"02/01/2006", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseClock reads HH:mm as minutes after midnight.
func parseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// at returns day's wall clock minute m in its zone.
func at(day time.Time, m int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, day.Location())
}

// parseStamp reads LAST_REQUEST_TIMESTAMP in loc: an RFC 3339 instant, or
// a local "yyyy-mm-dd HH:mm(:ss)", "yyyy-mm-ddTHH:mm:ss" or
// "dd/mm/yyyy HH:mm(:ss)"; years 1970 to 9999 (UTC) only.
func parseStamp(s string, loc *time.Location) (time.Time, bool) {
	ok := func(t time.Time) bool { y := t.UTC().Year(); return y >= 1970 && y <= 9999 }
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, ok(t)
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "02/01/2006 15:04:05", "02/01/2006 15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, ok(t)
		}
	}
	return time.Time{}, false
}
