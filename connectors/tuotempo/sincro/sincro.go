// Package sincro publishes tuOtempO Sincro's views and temporary tables
// (guide A.2 and B.1) in a PostgreSQL schema of their own when the
// bridge's store is PostgreSQL, and takes what tuOtempO's SINCRO component
// inserts into the temporary tables into FHIR, exactly once.
//
// Tables come only from the package's migration line tuotempo_sincro,
// which creates the fixed private schema tuotempo_sincro_data: rows (the
// views' rows), reservations_tmp and delete_reservation (the storage of
// TT_RESERVATIONS_TMP and TT_DELETE_RESERVATION: the guide's columns,
// limits, NOT NULLs and defaults, plus the bridge's bridge_id,
// bridge_done and bridge_tries) and their insert trigger. At start, under
// an advisory lock, the package creates the configured published schema
// (Config.Schema) holding only views: the nine Sincro views over rows, and
// TT_RESERVATIONS_TMP and TT_DELETE_RESERVATION as simple auto-updatable
// views over the storage tables showing exactly the guide's columns.
// SINCRO's role gets SELECT on the nine views, INSERT on the two others
// and nothing on the private schema. (Before, the tables were built in Go
// as <schema>_data.rows and <schema>.TT_RESERVATIONS_TMP /
// <schema>.TT_DELETE_RESERVATION.)
//
// The views' rows are made by the shipped forward mappings (Views) and
// kept in the private table rows, one row set per view and source
// resource: rebuilt whole at start and every Config.Refresh, and kept
// current in between by a delivery.Observer inside the ingest
// transaction. A row that depends on a resource it only references (a
// Practitioner's name in a reservation) changes with that resource at the
// next full refresh.
//
// An insert into a temporary table's view fires the storage table's
// trigger, which notifies the bridge (LISTEN tuotempo_sincro on a
// connection of the store's pool); the bridge also polls every
// Config.Poll. Each row is claimed on the storage table with FOR UPDATE
// SKIP LOCKED, applied through the ws.Booker and marked (STATUS_TRIGGER,
// APP_LID) in the claim's transaction.
package sincro

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// Sincro is the running Sincro publication of one store.
type Sincro struct {
	cfg    *Config
	st     *store.Store
	booker ws.Booker
	log    *slog.Logger
	// views are the published views, with their loaded mappings.
	views []*published
	wake  chan struct{}
}

// published is a view whose mapping is loaded.
type published struct {
	View
	m      *mapping.Mapping
	source string
}

// New loads the views' mappings (a view whose mapping is not shipped is
// left out, logged), and creates or updates the schema's objects. cfg has
// its defaults filled and is valid; booker takes the temporary tables'
// rows (nil for a Sincro that only publishes, as `sincro grant` uses).
// It refuses a SQLite store.
func New(cfg *Config, st *store.Store, booker ws.Booker, log *slog.Logger) (*Sincro, error) {
	return newWith(context.Background(), cfg, st, booker, log, Views, "")
}

// newWith is New over a given view table; mappings are looked for in dir
// first (tests), then shipped.
func newWith(ctx context.Context, cfg *Config, st *store.Store, booker ws.Booker, log *slog.Logger, views []View, dir string) (*Sincro, error) {
	if st.SingleProcess() {
		return nil, errSQLite
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sincro{cfg: cfg, st: st, booker: booker, log: log, wake: make(chan struct{}, 1)}
	var dirs []string
	if dir != "" {
		dirs = []string{dir}
	}
	for _, v := range views {
		m, err := loadMapping(v, cfg, dirs)
		if errors.Is(err, shipped.ErrNotFound) {
			log.Warn("sincro: view not published: its mapping is not shipped", "view", v.Name, "mapping", v.Mapping)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: view %s: %w", Section, v.Name, err)
		}
		if m.Direction() != mapping.Forward || m.Output() != "row" {
			return nil, fmt.Errorf("%s: view %s: mapping %s is not a forward mapping to rows", Section, v.Name, v.Mapping)
		}
		s.views = append(s.views, &published{View: v, m: m, source: m.SourceType()})
	}
	var pub []View
	for _, p := range s.views {
		pub = append(pub, p.View)
	}
	if err := setup(ctx, st, cfg, pub); err != nil {
		return nil, fmt.Errorf("%s: %w", Section, err)
	}
	return s, nil
}

// loadMapping loads v's mapping with the config's params for v, plus the
// time zone when the mapping takes one and the params do not set it.
func loadMapping(v View, cfg *Config, dirs []string) (*mapping.Mapping, error) {
	src, err := bridge.MappingSource(v.Mapping, dirs...)
	if err != nil {
		return nil, err
	}
	m, err := src.Load(cfg.Params[v.Name])
	if err != nil {
		return nil, err
	}
	if _, set := cfg.Params[v.Name]["timezone"]; !set && slices.Contains(m.Params(), "timezone") {
		p := map[string]string{"timezone": cfg.TimeZone}
		for k, val := range cfg.Params[v.Name] {
			p[k] = val
		}
		return src.Load(p)
	}
	return m, nil
}

// Published names the views New publishes, in the guide's order.
func (s *Sincro) Published() []string {
	var out []string
	for _, p := range s.views {
		out = append(out, p.Name)
	}
	return out
}

// Run keeps the publication current and takes the temporary tables' rows
// until ctx ends: it rebuilds every view's rows now and every
// Config.Refresh, listens for the tables' notifications and polls them
// every Config.Poll. It returns when ctx ends (fits ServeEnv.Go).
func (s *Sincro) Run(ctx context.Context) {
	if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("sincro: rebuilding the views failed", "err", err)
	}
	go s.listen(ctx)
	refresh := time.NewTicker(time.Duration(s.cfg.Refresh))
	defer refresh.Stop()
	poll := time.NewTicker(time.Duration(s.cfg.Poll))
	defer poll.Stop()
	for {
		if s.booker != nil {
			s.Drain(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("sincro: rebuilding the views failed", "err", err)
			}
		case <-poll.C:
		case <-s.wake:
		}
	}
}
