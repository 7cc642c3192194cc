package ops

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
)

// refreshSeconds is how often the dashboard reloads itself (the Refresh
// header: no script needed).
const refreshSeconds = 30

// Dashboard is what the dashboard shows.
type Dashboard struct {
	Now   time.Time
	Flows []FlowRow
	// Circuits are the vendors' breakers (empty outside serve).
	Circuits []delivery.Circuit
	Exports  []ExportRow
	Feeds    []FeedRow
	// StoreSize is the database's bytes (-1 when it could not be read).
	StoreSize int64
	Refresh   int
}

// FlowRow is one flow's counts with its vendor and circuit.
type FlowRow struct {
	Vendor, Circuit string
	Stalled         bool
	delivery.FlowStats
}

// ExportRow is one export job: its schedule, next run and last file.
type ExportRow struct {
	Job, Schedule string
	Next          time.Time
	Last          *ledger.Entry
}

// FeedRow is one inbound file job and the last file it read.
type FeedRow struct {
	Job  string
	Last *ledger.Entry
}

// LoadDashboard gathers the dashboard at now: the queue's counts per
// flow (delivery.Queue.Stats: index ranges only), the circuits, the
// export and inbound jobs of the configured modules with their latest
// ledger entry, the store's size.
func LoadDashboard(ctx context.Context, d *console.Deps, now time.Time) (Dashboard, error) {
	db := Dashboard{Now: now, StoreSize: -1, Refresh: refreshSeconds}
	stats, err := delivery.NewQueue(d.Store).Stats(ctx, now)
	if err != nil {
		return db, err
	}
	vend := vendors(ctx, d)
	of := vendorOf(vend)
	circuit := map[string]delivery.Circuit{}
	if d.Ops.Runner != nil {
		if db.Circuits, err = d.Ops.Runner.Circuits(ctx); err != nil {
			return db, err
		}
		for _, c := range db.Circuits {
			circuit[c.Vendor] = c
		}
	}
	seen := map[string]bool{}
	for _, s := range stats {
		seen[s.Flow] = true
		v := of[s.Flow]
		c := circuit[v]
		db.Flows = append(db.Flows, FlowRow{Vendor: v, Circuit: c.State, Stalled: c.Stalled, FlowStats: s})
	}
	// configured flows without a job yet show as zero rows
	for _, v := range slices.Sorted(maps.Keys(vend)) {
		for _, f := range vend[v] {
			if !seen[f] {
				c := circuit[v]
				db.Flows = append(db.Flows, FlowRow{Vendor: v, Circuit: c.State, Stalled: c.Stalled, FlowStats: delivery.FlowStats{Flow: f}})
			}
		}
	}
	slices.SortFunc(db.Flows, func(a, b FlowRow) int {
		if a.Vendor != b.Vendor {
			if a.Vendor < b.Vendor {
				return -1
			}
			return 1
		}
		if a.Flow < b.Flow {
			return -1
		}
		if a.Flow > b.Flow {
			return 1
		}
		return 0
	})
	if d.Ops.Modules != nil {
		ess := d.Ops.Modules.ExportSchedulers()
		for _, name := range slices.Sorted(maps.Keys(ess)) {
			scheds, err := ess[name].ExportSchedules()
			if err != nil {
				return db, fmt.Errorf("export jobs of %s: %w", name, err)
			}
			for _, s := range scheds {
				last, err := latest(ctx, d, ledger.Out, s.Job)
				if err != nil {
					return db, err
				}
				db.Exports = append(db.Exports, ExportRow{Job: s.Job, Schedule: s.Schedule, Next: s.Next(now), Last: last})
			}
		}
		rps := d.Ops.Modules.FileReprocessors()
		for _, name := range slices.Sorted(maps.Keys(rps)) {
			for _, job := range rps[name].InboundJobs() {
				last, err := latest(ctx, d, ledger.In, job)
				if err != nil {
					return db, err
				}
				db.Feeds = append(db.Feeds, FeedRow{Job: job, Last: last})
			}
		}
	}
	if n, err := d.Store.Size(ctx); err == nil {
		db.StoreSize = n
	} else {
		d.Logger.Warn("console: reading the store's size", "error", err.Error())
	}
	return db, nil
}

// latest returns job's newest ledger entry of direction dir, nil if none.
func latest(ctx context.Context, d *console.Deps, dir ledger.Direction, job string) (*ledger.Entry, error) {
	es, err := ledger.List(ctx, d.Store, ledger.Filter{Direction: dir, Job: job, Limit: 1})
	if err != nil || len(es) == 0 {
		return nil, err
	}
	return &es[0], nil
}

func mountDashboard(m *console.Mux, d *console.Deps) {
	m.HandleFunc("GET /console/dashboard", console.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		db, err := LoadDashboard(r.Context(), d, d.Now())
		if err != nil {
			internal(w, r, d, "reading the dashboard", err)
			return
		}
		if r.URL.Query().Get("refresh") != "off" {
			w.Header().Set("Refresh", fmt.Sprint(db.Refresh))
		} else {
			db.Refresh = 0
		}
		console.Render(w, r, tmpl, "dashboard", db)
	})
}
