package config

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// SoloContextLinks configures the context-aware links that
// `fhirbridge solo link` builds (spec: "Context Aware Linking").
//
//	connectors:
//	  solo:
//	    context_links:
//	      secret: {env: SOLO_LINK_SECRET}
//	      link_url: https://demo.visitnow.org/integrations/linking
type SoloContextLinks struct {
	// Secret is the shared secret agreed with Solo; the AES-256 key of each
	// link is SHA-256(secret ‖ salt). Required.
	Secret Secret `yaml:"secret"`
	// LinkURL is the linking endpoint the encrypted argument is appended
	// to as ?arg=… (default: connectors.solo.base_url +
	// /integrations/linking).
	LinkURL string `yaml:"link_url"`
}

func (x *SoloContextLinks) fillDefaults() {}

func (x *SoloContextLinks) validate() []error {
	var errs []error
	if !x.Secret.Set() {
		errs = append(errs, errors.New("connectors.solo.context_links.secret: missing ({env: NAME} or {file: PATH})"))
	}
	if x.LinkURL != "" {
		if u, err := url.Parse(x.LinkURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			errs = append(errs, errors.New("connectors.solo.context_links.link_url: want an http(s) URL without a query"))
		}
	}
	return errs
}

// SoloSlots configures the FHIR Slot search answered from Solo's
// appointment slots (GET /fhir/Slot?schedule=…&start=ge…&start=lt…).
//
//	connectors:
//	  solo:
//	    slots:
//	      waiting_rooms_ttl: 5m
//	      duration: 15m
//	      max_window: 744h
//	      schedules: {gp: General Practice}
type SoloSlots struct {
	// WaitingRoomsTTL is how long the waiting-room list fetched from Solo
	// is reused (default 5m).
	WaitingRoomsTTL Duration `yaml:"waiting_rooms_ttl"`
	// Duration is the slot length asked of Solo, whole seconds from 1s to
	// 24h; unset, Solo uses each waiting room's own slot duration.
	Duration Duration `yaml:"duration"`
	// MaxWindow caps the span between a search's start bounds
	// (default 744h, 31 days); a wider search is answered 400.
	MaxWindow Duration `yaml:"max_window"`
	// Schedules maps FHIR Schedule ids to Solo waiting room names. Unset,
	// a Schedule id is the waiting room's Solo id (Schedule/<room id>);
	// set, only the ids listed here are schedules.
	Schedules map[string]string `yaml:"schedules"`
}

// DefaultWaitingRoomsTTL and DefaultSlotWindow are SoloSlots' defaults.
const (
	DefaultWaitingRoomsTTL = 5 * time.Minute
	DefaultSlotWindow      = 31 * 24 * time.Hour
)

func (x *SoloSlots) fillDefaults() {
	if x.WaitingRoomsTTL == 0 {
		x.WaitingRoomsTTL = Duration(DefaultWaitingRoomsTTL)
	}
	if x.MaxWindow == 0 {
		x.MaxWindow = Duration(DefaultSlotWindow)
	}
}

func (x *SoloSlots) validate() []error {
	var errs []error
	if x.WaitingRoomsTTL < 0 {
		errs = append(errs, errors.New("connectors.solo.slots.waiting_rooms_ttl: must not be negative"))
	}
	if d := time.Duration(x.Duration); d != 0 && (d < time.Second || d > 24*time.Hour || d%time.Second != 0) {
		errs = append(errs, errors.New("connectors.solo.slots.duration: whole seconds from 1s to 24h (Solo's range [1, 86400])"))
	}
	if x.MaxWindow < 0 {
		errs = append(errs, errors.New("connectors.solo.slots.max_window: must not be negative"))
	}
	ids := make([]string, 0, len(x.Schedules))
	for id := range x.Schedules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !fhir.ValidID(id) {
			errs = append(errs, fmt.Errorf("connectors.solo.slots.schedules: %q is not a FHIR id ([A-Za-z0-9-.]{1,64})", id))
		}
		if x.Schedules[id] == "" {
			errs = append(errs, fmt.Errorf("connectors.solo.slots.schedules.%s: names no waiting room", id))
		}
	}
	return errs
}
