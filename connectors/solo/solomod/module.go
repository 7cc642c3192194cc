// Package solomod is the Teladoc Health Solo module: the connectors.solo
// section (Config), its registration and abilities — routes through the
// Solo client, the connection test and waiting-room lookups of check
// --connect, the Slot search, webhook receiver and status worker of serve
// — and its conformance sample. The Solo client itself is package solo;
// the status flow is connectors/solo/solostatus (which imports package solo, hence
// this separate package).
package solomod

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// The Teladoc Health Solo module: patients, appointments, episodes,
// documents and links; its Slot search, webhook receiver and status poll
// in serve; its connection test and waiting-room lookups in check.
func init() {
	bridge.RegisterModule(bridge.ModuleInfo{
		Name:      solo.Name,
		Summary:   "Teladoc Health Solo: patients, appointments, status, webhooks, episodes, links, documents, reports",
		CheckHelp: "GET /qapi/v1/waiting-rooms with the Api-Key; once Solo\nanswers, every waitingRoom lookup of a Solo route (each\ncode-map row, the waiting_room param) and every\nconnectors.solo.slots.schedules entry that names no room",
		Config:    func() any { return new(Config) },
		Sandbox:   sandboxCmd,
		Commands: func() []*cobra.Command {
			return []*cobra.Command{webhooksCmd(), linkCmd()}
		},
		CommandsSummary: "Teladoc Health Solo operations (webhooks, links, ...)",
		Subcommands: map[string]func() []*cobra.Command{
			"import": func() []*cobra.Command { return []*cobra.Command{importCmd()} },
		},
		Sample: sample,
		Demo:   demo,
		New: func(cfg, root any) (bridge.Module, error) {
			s := cfg.(*Config)
			app, ok := root.(bridge.Root)
			if !ok {
				return nil, fmt.Errorf("the application configuration (%T) is no bridge.Root", root)
			}
			if err := s.CheckSection(); err != nil {
				return nil, err
			}
			conn, err := s.Client()
			if err != nil {
				return nil, err
			}
			return &module{app: app, s: s, conn: conn}, nil
		},
	})
}

// module is the configured Solo connector.
type module struct {
	app  bridge.Root
	s    *Config
	conn *solo.Connector
}

// WireRoute delivers through the Solo client (with the video-link options
// when connectors.solo.links is set); Appointments, EpisodeOfCare and
// QuestionnaireResponses go under the patient's Solo id (a visit-note
// update under its Appointment's SAID, read by its mapping); attachments
// are checked at intake.
func (m *module) WireRoute(r bridge.Route) (bridge.Wiring, error) {
	w := bridge.Wiring{Connector: m.conn}
	if l := m.s.Links; l != nil {
		w.Connector = solo.WithVideoLinks(m.conn, solo.VideoLinkOptions{MSTeams: l.MSTeams, TeamsAuthToken: l.TeamsAuthToken})
	}
	switch r.Resource {
	case "Appointment", "EpisodeOfCare", "QuestionnaireResponse": // delivered under the patient's Solo id
		w.Parent = "Patient"
	}
	if r.Mapping.Name() == solo.FlowVisitNoteUpdate { // under the Appointment's SAID, which the mapping reads
		w.Parent = ""
	}
	switch r.Mapping.Name() {
	case solo.FlowAttachment:
		w.Check = solo.CheckDocumentReference
	case solo.FlowAssistance:
		w.Check = solo.CheckAssistanceTask
	}
	if r.Mapping.Name() == solo.FlowPerfectAnswer { // locationId and reason from connectors.solo.perfect_answer
		var t solo.PerfectAnswerTables
		if m.s.PerfectAnswer != nil {
			t = m.s.PerfectAnswer.tables()
		}
		w.Connector = &solo.PerfectAnswer{Next: w.Connector, Tables: t}
	}
	return w, nil
}

// ConnectionChecks: GET /qapi/v1/waiting-rooms with the Api-Key (the
// client's Probe), then the waiting-room lookups of the routes.
func (m *module) ConnectionChecks() ([]bridge.Check, error) {
	ch, ok := bridge.ConnectorCheck(solo.Name, "", m.conn)
	if !ok {
		return nil, errors.New("the solo connector has no connection test")
	}
	ch.After = func(ctx context.Context, out io.Writer) error { return checkWaitingRooms(ctx, m.app, m.s, m.conn, out) }
	return []bridge.Check{ch}, nil
}

// FHIRTypes are the resource types the Solo flows take beyond the
// endpoint's defaults: documents and attachments (DocumentReference, with
// its bytes possibly in a Binary), questionnaire answers that become
// patient documents or visit-note updates, the Communications the
// visit-note comments come back as, assistance requests (Task, at a
// Device) and ServiceRequests that become perfect-answer visits.
func (m *module) FHIRTypes() []string {
	return []string{"DocumentReference", "Binary", "QuestionnaireResponse", "Communication", "Task", "Device", "ServiceRequest"}
}

// Serve adds the Slot search (connectors.solo.slots), the webhook
// receiver (connectors.solo.webhooks) and the status worker.
func (m *module) Serve(_ context.Context, env *bridge.ServeEnv) error {
	if err := serveSlots(m.s, m.conn, env); err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	if err := serveAssistance(m.s, m.app, env); err != nil {
		return fmt.Errorf("assistance requests: %w", err)
	}
	return serveStatus(m.s, m.app, env)
}
