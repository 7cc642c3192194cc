package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// HL7v2 is the section hl7v2: HL7 v2 messages received over MLLP (Listen)
// and POST /hl7v2 (always served beside /fhir), mapped to FHIR and
// stored and routed as a posted Bundle (batch/hl7in).
type HL7v2 struct {
	// Listen is the MLLP listener's host:port; empty (the default) means
	// no MLLP listener. Beyond loopback it needs mutual TLS (TLS with
	// client_ca_file) unless InsecurePlain is set.
	Listen string `yaml:"listen"`
	// TLS makes the listener speak TLS (cert_file, key_file), and require
	// client certificates signed by client_ca_file (mutual TLS).
	TLS TLS `yaml:"tls"`
	// InsecurePlain allows a plain-TCP listener beyond loopback (a site
	// network the sender reaches directly). Messages then travel
	// unencrypted and anyone who reaches the port can send.
	InsecurePlain bool `yaml:"insecure_plain"`
	// MaxMessageBytes bounds one message, over MLLP and POST /hl7v2
	// (default 1 MiB, at most 64 MiB).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// IdleTimeout closes an MLLP connection that sends nothing for this
	// long between messages (default 5m, at least 1s).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxConnections bounds the MLLP connections open at once (default
	// 64, at most 10000).
	MaxConnections int `yaml:"max_connections"`
	// Mappings names the mapping of each message type (MSH-9.1). Default
	// {ADT: hl7v2/adt-patient, SIU: hl7v2/siu-appointment}; setting it
	// replaces the default. A type not listed is rejected (AR). File only.
	Mappings map[string]string `yaml:"mappings"`
	// Params are the mapping parameters (zone: the sending facility's
	// IANA time zone, identifier systems). File only.
	Params map[string]string `yaml:"params"`
}

// Defaults of the hl7v2 section.
const (
	DefaultHL7v2MaxMessageBytes = 1 << 20
	DefaultHL7v2IdleTimeout     = 5 * time.Minute
	DefaultHL7v2MaxConnections  = 64
	maxHL7v2MessageBytes        = 64 << 20
)

// DefaultHL7v2Mappings is hl7v2.mappings when the file sets none.
var DefaultHL7v2Mappings = map[string]string{"ADT": "hl7v2/adt-patient", "SIU": "hl7v2/siu-appointment"}

// messageType is a message type code (MSH-9.1).
var messageType = regexp.MustCompile(`^[A-Z][A-Z0-9]{2}$`)

// fillHL7v2Defaults fills the zero fields of the hl7v2 section.
func (c *Config) fillHL7v2Defaults() {
	h := &c.HL7v2
	if h.MaxMessageBytes == 0 {
		h.MaxMessageBytes = DefaultHL7v2MaxMessageBytes
	}
	if h.IdleTimeout == 0 {
		h.IdleTimeout = Duration(DefaultHL7v2IdleTimeout)
	}
	if h.MaxConnections == 0 {
		h.MaxConnections = DefaultHL7v2MaxConnections
	}
	if h.Mappings == nil {
		h.Mappings = map[string]string{}
		for k, v := range DefaultHL7v2Mappings {
			h.Mappings[k] = v
		}
	}
}

// validateHL7v2 checks the hl7v2 section. The mappings it names are
// loaded (and checked) by serve and check, not here.
func (c *Config) validateHL7v2() []error {
	h := c.HL7v2
	var errs []error
	if h.Listen != "" {
		host, port, err := net.SplitHostPort(h.Listen)
		if err != nil {
			errs = append(errs, fmt.Errorf("hl7v2.listen %q: want host:port", h.Listen))
		} else if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("hl7v2.listen %q: port %q is not 1-65535 (or 0: any free port)", h.Listen, port))
		} else if !isLoopback(host) && h.TLS.ClientCAFile == "" && !h.InsecurePlain {
			errs = append(errs, fmt.Errorf("hl7v2.listen %q: beyond loopback the MLLP listener needs mutual TLS (hl7v2.tls with client_ca_file), or hl7v2.insecure_plain: true to accept unencrypted, unauthenticated connections", h.Listen))
		}
		if h.Listen == c.Server.Listen {
			errs = append(errs, fmt.Errorf("hl7v2.listen %q: the same address as server.listen", h.Listen))
		}
	}
	if (h.TLS.CertFile == "") != (h.TLS.KeyFile == "") {
		errs = append(errs, errors.New("hl7v2.tls: cert_file and key_file go together"))
	}
	if h.TLS.ClientCAFile != "" && h.TLS.CertFile == "" {
		errs = append(errs, errors.New("hl7v2.tls.client_ca_file (mutual TLS) needs cert_file and key_file"))
	}
	if h.MaxMessageBytes < 1024 || h.MaxMessageBytes > maxHL7v2MessageBytes {
		errs = append(errs, fmt.Errorf("hl7v2.max_message_bytes %d: from 1024 to %d", h.MaxMessageBytes, maxHL7v2MessageBytes))
	}
	if h.IdleTimeout < Duration(time.Second) {
		errs = append(errs, fmt.Errorf("hl7v2.idle_timeout %s: at least 1s", time.Duration(h.IdleTimeout)))
	}
	if h.MaxConnections < 1 || h.MaxConnections > maxLimit {
		errs = append(errs, fmt.Errorf("hl7v2.max_connections %d: from 1 to %d", h.MaxConnections, maxLimit))
	}
	types := make([]string, 0, len(h.Mappings))
	for t := range h.Mappings {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		switch {
		case !messageType.MatchString(t):
			errs = append(errs, fmt.Errorf("hl7v2.mappings: %q is not a message type (MSH-9.1: three upper-case letters or digits, e.g. ADT)", t))
		case h.Mappings[t] == "":
			errs = append(errs, fmt.Errorf("hl7v2.mappings.%s: names no mapping", t))
		}
	}
	return errs
}

// preflightHL7v2 reads the hl7v2 TLS files, reporting each problem by
// key through add.
func (c *Config) preflightHL7v2(add func(key string, err error)) {
	t := c.HL7v2.TLS
	if t.CertFile != "" && t.KeyFile != "" {
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			add("hl7v2.tls.cert_file, hl7v2.tls.key_file", fmt.Errorf("not a readable PEM certificate and its private key: %w", err))
		}
	}
	if t.ClientCAFile != "" {
		add("hl7v2.tls.client_ca_file", connectors.ReadCAs(t.ClientCAFile))
	}
}
