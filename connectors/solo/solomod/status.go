package solomod

import (
	"errors"
	"log/slog"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/solostatus"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// WebhookPattern is where serve mounts the Solo webhook receiver.
const WebhookPattern = "POST /solo/webhooks/{" + solostatus.TokenPathValue + "}"

// serveStatus mounts the webhook receiver (connectors.solo.webhooks) and
// runs the worker that handles events, pushes to the EHR and polls
// (connectors.solo.status).
func serveStatus(s *Config, app bridge.Root, env *bridge.ServeEnv) error {
	if s.Webhooks == nil && s.Status == nil {
		return nil
	}
	syncer, err := NewSyncer(s, app, env.Store, env.Log)
	if err != nil {
		return err
	}
	every, pollEvery, lookback := 30*time.Second, time.Duration(0), time.Duration(0)
	if s.Status != nil {
		pollEvery, lookback = time.Duration(s.Status.Every), time.Duration(s.Status.Lookback)
	}
	if s.Webhooks != nil {
		every = time.Duration(s.Webhooks.RetryEvery)
	}
	worker := solostatus.NewWorker(syncer, every, pollEvery, lookback)
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
	env.Go(worker.Run)
	return nil
}

// NewSyncer builds the status syncer of section s on store st: its own
// Solo client, the shipped status mappings, webhooks.max_attempts, and
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
	if app != nil {
		if app.EHRConfig() != nil {
			syncer.EHRFlow = delivery.EHRFlow // serve runs the ehr flow when the section is set
		}
	}
	return syncer, nil
}
