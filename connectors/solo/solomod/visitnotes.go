package solomod

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solostatus"
)

// VisitNotes configures reading visit notes back: when set, the status
// flow (webhooks or the poll, connectors.solo.webhooks / status) enqueues,
// with each Appointment it stores fulfilled, a job of
// solostatus.VisitNoteFlow that reads the appointment's notes into
// QuestionnaireResponses and Communications (pushed to the ehr section's
// endpoint when set).
//
//	connectors:
//	  solo:
//	    visit_notes: {max_attempts: 10}
type VisitNotes struct {
	// MaxAttempts bounds the tries of a read that keeps failing before its
	// job is dead-lettered (default 10).
	MaxAttempts int `yaml:"max_attempts"`
}

func (x *VisitNotes) fillDefaults() {
	if x.MaxAttempts == 0 {
		x.MaxAttempts = 10
	}
}

func (x *VisitNotes) validate() []error {
	if x.MaxAttempts < 1 {
		return []error{errors.New(key("visit_notes.max_attempts") + ": at least 1")}
	}
	return nil
}

// visitNoteFlow is solostatus.VisitNoteFlow's delivery flow: each job
// handled by a solostatus.VisitNotes on the runner's store (built at the
// first job), at most visit_notes.max_attempts tries.
func (m *module) visitNoteFlow() delivery.Flow {
	var (
		once sync.Once
		vn   *solostatus.VisitNotes
		err  error
	)
	f := delivery.Flow{Vendor: solostatus.Vendor, Work: func(ctx context.Context, w delivery.Work) error {
		once.Do(func() {
			vn = &solostatus.VisitNotes{Store: w.Store, Log: w.Log}
			if vn.Solo, err = m.s.Client(); err != nil {
				return
			}
			if vn.Note, vn.Comment, err = solostatus.LoadVisitNoteMappings(); err != nil {
				return
			}
			if m.app != nil && m.app.EHRConfig() != nil {
				vn.EHRFlow = delivery.EHRFlow // serve runs the ehr flow when the section is set
			}
		})
		if err != nil {
			return fmt.Errorf("reading a solo visit note: %w", err)
		}
		return vn.Work(ctx, w)
	}}
	if m.s.VisitNotes != nil {
		f.MaxAttempts = m.s.VisitNotes.MaxAttempts
	}
	return f
}
