package solomod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solostatus"
)

// WebhookPattern is where serve mounts the Solo webhook receiver.
const WebhookPattern = "POST /solo/webhooks/{" + solostatus.TokenPathValue + "}"

// serveStatus mounts the webhook receiver (connectors.solo.webhooks),
// which records events as jobs of solostatus.WebhookFlow (the delivery
// runner works them, see module.Flows), and runs the worker that retries
// unknown events when a new one arrives and polls (connectors.solo.status).
func serveStatus(s *Config, app bridge.Root, env *bridge.ServeEnv) error {
	if s.Webhooks == nil && s.Status == nil {
		return nil
	}
	syncer, err := NewSyncer(s, app, env.Store, env.Log)
	if err != nil {
		return err
	}
	pollEvery, lookback := time.Duration(0), time.Duration(0)
	if s.Status != nil {
		pollEvery, lookback = time.Duration(s.Status.Every), time.Duration(s.Status.Lookback)
	}
	worker := solostatus.NewWorker(syncer, pollEvery, lookback)
	if w := s.Webhooks; w != nil {
		env.Handle(WebhookPattern, &solostatus.Receiver{
			Syncer: syncer,
			Token:  w.Token,
			Key:    w.EncryptionKey,
			Notify: worker.Wake,
			Log:    env.Log,
		})
		env.Log.Info("solo webhook receiver mounted", "path", "/solo/webhooks/…")
	}
	env.GoSingleton("solo/status", worker.Run)
	return nil
}

// NewSyncer builds the status syncer of section s on store st: its own
// Solo client, the shipped status mappings, webhooks.max_attempts (the
// tries of an event's job), and
// the EHR that app names (none when app is nil or has no ehr section).
func NewSyncer(s *Config, app bridge.Root, st *store.Store, log *slog.Logger) (*solostatus.Syncer, error) {
	if s == nil {
		return nil, errors.New("the config has no connectors.solo section")
	}
	conn, err := s.Client()
	if err != nil {
		return nil, err
	}
	status, enc, err := solostatus.LoadMappings()
	if err != nil {
		return nil, err
	}
	syncer := &solostatus.Syncer{Store: st, Solo: conn, Status: status, Encounter: enc, Log: log}
	if s.Webhooks != nil {
		syncer.MaxAttempts = s.Webhooks.MaxAttempts
	}
	syncer.VisitNotes = s.VisitNotes != nil
	if app != nil {
		if app.EHRConfig() != nil {
			syncer.EHRFlow = delivery.EHRFlow // serve runs the ehr flow when the section is set
		}
	}
	return syncer, nil
}

// webhookFlow is solostatus.WebhookFlow's delivery flow: the recorded
// events, each handled by a Syncer on the runner's store (built at the
// first event), at most webhooks.max_attempts tries.
func (m *module) webhookFlow() delivery.Flow {
	var (
		once   sync.Once
		syncer *solostatus.Syncer
		err    error
	)
	f := delivery.Flow{Vendor: solostatus.Vendor, Work: func(ctx context.Context, w delivery.Work) error {
		once.Do(func() { syncer, err = NewSyncer(m.s, m.app, w.Store, w.Log) })
		if err != nil {
			return fmt.Errorf("handling solo webhook event: %w", err)
		}
		return syncer.Work(ctx, w)
	}}
	if m.s.Webhooks != nil {
		f.MaxAttempts = m.s.Webhooks.MaxAttempts
	}
	return f
}

// Flows: the worker flows of the recorded webhook events and of the
// visit-note reads, whenever Solo is configured, so that jobs recorded
// before their section was removed are still worked.
func (m *module) Flows() (map[string]delivery.Flow, error) {
	return map[string]delivery.Flow{solostatus.WebhookFlow: m.webhookFlow(), solostatus.VisitNoteFlow: m.visitNoteFlow()}, nil
}
