package connectors

import (
	"fmt"
	"sort"
	"sync"
)

// Factory describes one connector kind: its stable name (used in config
// and metrics), a one-line summary, and how to build it from its config.
// Config is the connector's own typed configuration; the registry only
// passes it through.
type Factory struct {
	Name    string
	Summary string
	New     func(config any) (any, error)
}

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a connector kind known under f.Name. Vendor packages call
// it from init; a duplicate or empty name is a programming error and panics.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if f.Name == "" || f.New == nil {
		panic("connectors: Register needs a name and a constructor")
	}
	if _, dup := factories[f.Name]; dup {
		panic("connectors: " + f.Name + " registered twice")
	}
	factories[f.Name] = f
}

// Lookup returns the connector kind registered under name.
func Lookup(name string) (Factory, error) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := factories[name]
	if !ok {
		return Factory{}, fmt.Errorf("no connector %q (known: %v)", name, namesLocked())
	}
	return f, nil
}

// Names lists the registered connector kinds, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Typed adapts a connector constructor taking its own config type C to
// Factory.New: the config may be a C or a non-nil *C; anything else is an
// error naming what was given and what the connector wants.
func Typed[C any, T any](name string, build func(C) (T, error)) func(config any) (any, error) {
	return func(config any) (any, error) {
		switch c := config.(type) {
		case C:
			return build(c)
		case *C:
			if c == nil {
				return nil, fmt.Errorf("building %s connector: nil config", name)
			}
			return build(*c)
		default:
			var want C
			return nil, fmt.Errorf("building %s connector: config is %T, want %T", name, config, want)
		}
	}
}
