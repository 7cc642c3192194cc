package config

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// A vendor module that owns its config struct (bridge.ModuleInfo.Config)
// gets its connectors.<name> section decoded into that struct, as
// strictly as the rest of the file, overridden by
// FHIRBRIDGE_CONNECTORS__<NAME>__… variables and checked for empty
// security values like every other section: the config package knows the
// struct only through the registry.

var connectorsType = reflect.TypeOf(Connectors{})

// moduleConfig returns a new config struct of the module whose name is
// key (or whose upper-cased name is key, for override paths).
func moduleConfig(key string) (name string, cfg any, ok bool) {
	for _, m := range bridge.Modules() {
		if m.Config != nil && (m.Name == key || strings.ToUpper(m.Name) == key) {
			return m.Name, m.Config(), true
		}
	}
	return "", nil, false
}

// UnmarshalYAML decodes the built-in sections and each module's section
// into its own struct. A key that names neither is an error at its line
// and column, naming the known sections.
func (c *Connectors) UnmarshalYAML(_ context.Context, node ast.Node) error {
	if node.Type() == ast.NullType {
		return nil
	}
	m, ok := node.(*ast.MappingNode)
	if !ok {
		return positioned(node, "connectors must be a mapping of vendor sections")
	}
	opts := []yaml.DecodeOption{yaml.Strict(), yaml.DisallowUnknownField()}
	for _, kv := range m.Values {
		key := kv.Key.GetToken().Value
		if kv.Value.Type() == ast.NullType {
			continue // an empty section: not configured
		}
		var into any
		switch key {
		default:
			name, cfg, ok := moduleConfig(key)
			if !ok {
				return positioned(kv.Key, fmt.Sprintf("unknown connector section %q (known: %s)", key, strings.Join(sectionNames(), ", ")))
			}
			if c.Modules == nil {
				c.Modules = map[string]any{}
			}
			c.Modules[name] = cfg
			into = cfg
		}
		if err := yaml.NodeToValue(kv.Value, into, opts...); err != nil {
			return err
		}
	}
	return nil
}

// positioned is an error at node's line and column, as the YAML
// library's own errors read.
func positioned(node ast.Node, msg string) error {
	if tok := node.GetToken(); tok != nil && tok.Position != nil {
		return fmt.Errorf("[%d:%d] %s", tok.Position.Line, tok.Position.Column, msg)
	}
	return fmt.Errorf("connectors: %s", msg)
}

// sectionNames lists the sections connectors may hold, sorted.
func sectionNames() []string {
	var names []string
	for _, m := range bridge.Modules() {
		if m.Config != nil {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	return names
}

// moduleSection returns the section of module key (an upper-cased
// override step), creating it when absent, for applyEnv.
func (c *Connectors) moduleSection(step string) (reflect.Value, bool) {
	name, cfg, ok := moduleConfig(step)
	if !ok {
		return reflect.Value{}, false
	}
	if cur, ok := c.Modules[name]; ok {
		cfg = cur
	} else {
		if c.Modules == nil {
			c.Modules = map[string]any{}
		}
		c.Modules[name] = cfg
	}
	return reflect.ValueOf(cfg).Elem(), true
}

// moduleSectionType is the config struct type of module key (an
// upper-cased override step or a file key).
func moduleSectionType(key string) (reflect.Type, bool) {
	_, cfg, ok := moduleConfig(key)
	if !ok {
		return nil, false
	}
	return reflect.TypeOf(cfg), true
}
