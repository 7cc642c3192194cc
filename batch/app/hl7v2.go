package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/hl7in"
	"github.com/fhirbridge/fhirbridge/batch/mllp"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// hl7v2Locate derives the message location of a mapping error for the
// ACK's ERR-2.
var hl7v2Locate = mapping.V2Location

// hl7v2Translators loads the mapping of each configured message type.
func hl7v2Translators(c *config.Config) (map[string]hl7in.Translator, error) {
	types := make([]string, 0, len(c.HL7v2.Mappings))
	for t := range c.HL7v2.Mappings {
		types = append(types, t)
	}
	sort.Strings(types)
	out := map[string]hl7in.Translator{}
	var errs []error
	used := map[string]bool{}
	for _, t := range types {
		m, err := loadSharedParams(c.HL7v2.Mappings[t], c.HL7v2.Params, c.Dir())
		if m != nil {
			for _, p := range m.Params() {
				used[p] = true
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("hl7v2.mappings.%s: %w", t, err))
			continue
		}
		tr, err := hl7in.NewMappingTranslator(m, hl7v2Locate)
		if err != nil {
			errs = append(errs, fmt.Errorf("hl7v2.mappings.%s: %w", t, err))
			continue
		}
		out[t] = tr
	}
	if len(errs) == 0 {
		for _, p := range sortedKeys(c.HL7v2.Params) {
			if !used[p] {
				errs = append(errs, fmt.Errorf("hl7v2.params.%s: no hl7v2 mapping declares this parameter", p))
			}
		}
	}
	return out, errors.Join(errs...)
}

// loadSharedParams loads the mapping spec with the parameters of the
// shared set that it declares: hl7v2.params serves every message type's
// mapping (zone, say), and a mapping refuses parameters it does not
// declare, so those are dropped one by one as the loader names them.
func loadSharedParams(spec string, shared map[string]string, dir string) (*mapping.Mapping, error) {
	params := maps.Clone(shared)
	for {
		m, err := bridge.LoadMapping(spec, params, dir)
		var le *mapping.LoadError
		if err == nil || !errors.As(err, &le) {
			return m, err
		}
		name, ok := strings.CutPrefix(le.Msg, "unknown parameter ")
		if !ok {
			return nil, err
		}
		name, uerr := strconv.Unquote(name)
		if _, known := params[name]; uerr != nil || !known {
			return nil, err
		}
		delete(params, name)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hl7v2Intake is the HL7 v2 side of serve: POST /hl7v2 and, when
// hl7v2.listen is set, the MLLP listener.
type hl7v2Intake struct {
	http *hl7in.HTTPHandler // nil: POST /hl7v2 not served
	mllp *mllp.Server       // nil: no listener
	ln   net.Listener
	done chan error
}

// startHL7v2 builds the handler over backend (the one /fhir commits
// through) and starts the MLLP listener. With hl7v2.listen set, a mapping
// that does not load is an error; without, POST /hl7v2 is left off with
// a warning (so serve runs where the HL7 v2 mappings are not installed).
func startHL7v2(c *config.Config, backend server.Backend, st *store.Store, types []string,
	tokens []server.TokenHash, log *slog.Logger, reg prometheus.Registerer) (*hl7v2Intake, error) {
	trs, err := hl7v2Translators(c)
	if err != nil {
		if c.HL7v2.Listen != "" {
			return nil, err
		}
		log.Warn("POST /hl7v2 is off: an HL7 v2 mapping does not load (set hl7v2.mappings)", "error", err.Error())
		return &hl7v2Intake{}, nil
	}
	h := &hl7in.Handler{Translators: trs, Backend: backend, Store: st, Types: types,
		Parse: hl7v2Options(c), Logger: log, Registerer: reg}
	h.Init()
	in := &hl7v2Intake{http: &hl7in.HTTPHandler{Handler: h, Tokens: tokens, MaxBytes: c.HL7v2.MaxMessageBytes}}
	if c.HL7v2.Listen == "" {
		return in, nil
	}
	in.mllp = &mllp.Server{Handler: h, MaxConns: c.HL7v2.MaxConnections, MaxMessageBytes: c.HL7v2.MaxMessageBytes,
		IdleTimeout: time.Duration(c.HL7v2.IdleTimeout), Logger: log, Registerer: reg}
	if t := c.HL7v2.TLS; t.CertFile != "" {
		tc, err := tlsConfig(t)
		if err != nil {
			return nil, fmt.Errorf("hl7v2.tls: %w", err)
		}
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("hl7v2.tls: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
		in.mllp.TLSConfig = tc
	}
	ln, err := net.Listen("tcp", c.HL7v2.Listen)
	if err != nil {
		return nil, fmt.Errorf("hl7v2.listen %s: %w", c.HL7v2.Listen, err)
	}
	in.ln = ln
	in.done = make(chan error, 1)
	log.Info("MLLP listening", "addr", ln.Addr().String(), "tls", in.mllp.TLSConfig != nil,
		"mutual_tls", c.HL7v2.TLS.ClientCAFile != "", "types", len(trs))
	go func() { in.done <- in.mllp.Serve(ln) }()
	return in, nil
}

// hl7v2Options are the parser's options: the message bound of the
// section.
func hl7v2Options(c *config.Config) (o hl7v2.Options) {
	o.Limits.MaxMessageBytes = c.HL7v2.MaxMessageBytes
	return o
}

// Addr is the MLLP listener's address ("" without one).
func (in *hl7v2Intake) Addr() string {
	if in == nil || in.ln == nil {
		return ""
	}
	return in.ln.Addr().String()
}

// shutdown stops the listener gracefully: messages in hand are committed
// and acknowledged, within ctx.
func (in *hl7v2Intake) shutdown(ctx context.Context) error {
	if in == nil || in.mllp == nil {
		return nil
	}
	err := in.mllp.Shutdown(ctx)
	if serr := <-in.done; serr != nil && !errors.Is(serr, mllp.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("stopping the MLLP listener: %w", err)
	}
	return nil
}
