package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// SectionChecker is a module config struct (ModuleInfo.Config) that fills
// its own defaults and checks itself once decoded and overridden. The
// application calls CheckSection when it loads the configuration, so that
// every command reading the section sees the defaults and a bad section
// fails the load; the errors name keys by their whole path
// (connectors.<name>.…). It opens nothing.
type SectionChecker interface {
	CheckSection() error
}

// SectionPreflighter is a module config struct with files or folders to
// open before serve runs: the application's preflight (serve, check
// --config) calls Preflight, whose errors name keys by their whole path.
type SectionPreflighter interface {
	Preflight() error
}

// ConfiguredRoute is a route of the application configuration as written,
// before it is wired (a connection check's follow-up reads them).
type ConfiguredRoute struct {
	// Index is the route's position in routes, as errors name it
	// (routes[Index] (Name)).
	Index int
	// Name, Resource, Mapping (a file or shipped name), Connector and
	// Params are the route's keys.
	Name, Resource, Mapping, Connector string
	Params                             map[string]string
}

// LoadMapping loads the mapping spec names (see MappingSource) with
// run-time parameters; dirs are the folders a relative file is also
// looked for in (the config file's folder for a config's mapping).
func LoadMapping(spec string, params map[string]string, dirs ...string) (*mapping.Mapping, error) {
	src, err := MappingSource(spec, dirs...)
	if err != nil {
		return nil, err
	}
	return src.Load(params)
}

// MappingSource finds the mapping spec names on this machine by
// shipped.Resolve: an absolute file, a file relative to the working
// directory or else to one of dirs, or else a shipped name.
func MappingSource(spec string, dirs ...string) (shipped.Source, error) {
	wd, err := os.Getwd()
	if err != nil {
		return shipped.Source{}, fmt.Errorf("finding mapping %q: %w", spec, err)
	}
	abs := []string{filepath.ToSlash(wd)}
	for _, d := range dirs {
		if d, err = filepath.Abs(d); err != nil {
			return shipped.Source{}, fmt.Errorf("finding mapping %q: %w", spec, err)
		}
		abs = append(abs, filepath.ToSlash(d))
	}
	return shipped.Resolve(os.DirFS("/"), filepath.ToSlash(spec), abs...)
}

// CommandConfig is the application configuration as a module's own
// subcommands (ModuleInfo.Commands) read it.
type CommandConfig struct {
	// App is the whole configuration.
	App Root
	// Section is the module's connectors.<name> section (a pointer to its
	// Config struct, defaults filled), nil when the section is absent.
	Section any
	// DataDir is the data folder (data_dir).
	DataDir string
	// OpenStore opens the store the configuration names (creating a
	// SQLite file's folder, as serve does); the caller closes it.
	OpenStore func(ctx context.Context) (*store.Store, error)
	// Router builds the configured modules and the delivery router of
	// the configuration's routes, as serve routes what it stores: for a
	// command that stores resources (an imported report) so that they
	// flow on like any update, without delivering them itself.
	Router func() (*delivery.Router, error)
	// Logger is the logger of command cmd on its stderr, as every command
	// of the application logs: the --log-format and --log-level flags
	// when given, else the configuration's log section, else text at
	// info. Nil (a test's CommandConfig) logs text at info to cmd's
	// stderr; use Log, which handles that.
	Logger func(cmd *cobra.Command) (*slog.Logger, error)
}

// Log is cc.Logger(cmd), or a text logger on cmd's stderr when cc has no
// Logger.
func (cc *CommandConfig) Log(cmd *cobra.Command) (*slog.Logger, error) {
	if cc.Logger == nil {
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)), nil
	}
	return cc.Logger(cmd)
}

// ExitError is what a module's command returns to end fhirbridge with
// exit status Code once it has reported what went wrong itself: the
// application prints nothing more. Any other error is printed and ends
// with status 2.
type ExitError struct{ Code int }

// Error says the exit status.
func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// LoadCommandConfig loads, for the subcommands of module name, the
// configuration file path ("" reads $FHIRBRIDGE_CONFIG, and only the
// defaults and the environment when that is empty too), with the
// FHIRBRIDGE_* overrides applied and every section checked, as serve
// loads it. The application sets it before it runs a command, so that a
// module's commands read the configuration without knowing its package.
var LoadCommandConfig func(name, path string) (*CommandConfig, error)
