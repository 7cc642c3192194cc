package inbound

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// Defaults applied by New to zero Spec fields.
const (
	DefaultMinAge       = time.Minute
	DefaultProcessedDir = "processed"
	DefaultErrorDir     = "error"
	DefaultMaxFileSize  = 256 << 20
)

// ReportSuffix is appended to a file's name for its sidecar report.
const ReportSuffix = ".report.txt"

// Spec configures one inbound job.
type Spec struct {
	// Name identifies the job in the ledger, reports and metrics
	// (e.g. "tuotempo-cancellations"). Required.
	Name string
	// Pattern is a path.Match glob on the file's base name, e.g.
	// "cancellations_*.csv". Required.
	Pattern string
	// Dir is the folder of the remote that is polled; "" is its base.
	Dir string
	// MinAge is how old (by modification time) a file must be before it
	// is taken without a done marker; default DefaultMinAge.
	MinAge time.Duration
	// DoneMarker, when set (e.g. ".done"), makes a file eligible as soon
	// as "<file><DoneMarker>" exists; the marker is removed once the file
	// has moved.
	DoneMarker string
	// ProcessedDir and ErrorDir are folders below Dir where files go
	// after processing: every row applied, or not (or a duplicate, or too
	// big). Defaults DefaultProcessedDir and DefaultErrorDir.
	ProcessedDir string
	ErrorDir     string
	// Mapping is the compiled reverse mapping of one row to an
	// Appointment update (tuotempo/cancellation). Required.
	Mapping *mapping.Mapping
	// MaxFileSize caps a file in bytes; a bigger one goes to ErrorDir with
	// a report, unread. Default DefaultMaxFileSize.
	MaxFileSize int64
}

// withDefaults validates s and fills its defaults.
func (s Spec) withDefaults() (Spec, error) {
	switch {
	case s.Name == "":
		return s, errors.New("configuring inbound job: name is required")
	case s.Pattern == "":
		return s, fmt.Errorf("configuring inbound job %s: pattern is required", s.Name)
	case s.Mapping == nil:
		return s, fmt.Errorf("configuring inbound job %s: mapping is required", s.Name)
	case s.Mapping.Direction() != mapping.Reverse || s.Mapping.ResourceType() != "Appointment":
		return s, fmt.Errorf("configuring inbound job %s: mapping %s must be a reverse mapping to Appointment", s.Name, s.Mapping.Name())
	case s.MinAge < 0 || s.MaxFileSize < 0:
		return s, fmt.Errorf("configuring inbound job %s: min age and max file size must not be negative", s.Name)
	}
	if _, err := path.Match(s.Pattern, ""); err != nil {
		return s, fmt.Errorf("configuring inbound job %s: pattern: %w", s.Name, err)
	}
	if s.MinAge == 0 {
		s.MinAge = DefaultMinAge
	}
	if s.ProcessedDir == "" {
		s.ProcessedDir = DefaultProcessedDir
	}
	if s.ErrorDir == "" {
		s.ErrorDir = DefaultErrorDir
	}
	if s.MaxFileSize == 0 {
		s.MaxFileSize = DefaultMaxFileSize
	}
	s.Dir = strings.Trim(s.Dir, "/")
	if s.ProcessedDir == s.ErrorDir {
		return s, fmt.Errorf("configuring inbound job %s: processed and error folders must differ", s.Name)
	}
	return s, nil
}

// Router queues the deliveries of one stored resource version inside the
// caller's transaction; *delivery.Router implements it. It is called once
// per changed Appointment, in the transaction that changed it.
type Router interface {
	Route(ctx context.Context, tx *store.Tx, typ, id string, version int, res *fhir.Value) error
}

var _ Router = (*delivery.Router)(nil)

// Options are the collaborators of a Poller; all are optional.
type Options struct {
	// Router queues deliveries of changed Appointments; nil routes none.
	Router Router
	// EHRFlow, when set (delivery.EHRFlow), is the delivery flow on which
	// every changed Appointment is enqueued for the EHR (see the package
	// documentation).
	EHRFlow string
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
	// Metrics counts files and rows; nil counts nothing.
	Metrics *Metrics
	// TempDir holds downloads while they are processed (default
	// os.TempDir()).
	TempDir string
	// Claims, when not nil, claims each file among the processes sharing
	// the store before it is downloaded (*cluster.Node implements it), so
	// that every process can poll the job and each file is processed by
	// one; nil is one process.
	Claims Claimer
	// ChunkRows is how many rows one store transaction applies (0 means
	// DefaultChunkRows).
	ChunkRows int
}
