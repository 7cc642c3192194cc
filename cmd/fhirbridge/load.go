package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// loadMapping loads the mapping spec names (see mappingSource) with
// run-time parameters; dirs are the folders a relative file is also
// looked for in (the config file's folder for a config's mapping).
func loadMapping(spec string, params map[string]string, dirs ...string) (*mapping.Mapping, error) {
	src, err := mappingSource(spec, dirs...)
	if err != nil {
		return nil, err
	}
	return src.Load(params)
}

// mappingSource finds the mapping spec names on this machine by
// shipped.Resolve: an absolute file, a file relative to the working
// directory or else to one of dirs, or else a shipped name.
func mappingSource(spec string, dirs ...string) (shipped.Source, error) {
	return bridge.MappingSource(spec, dirs...)
}

// parseParams turns k=v flags into a map, refusing malformed ones.
func parseParams(kvs []string) (map[string]string, error) {
	params := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want NAME=VALUE", kv)
		}
		if _, dup := params[k]; dup {
			return nil, fmt.Errorf("--param %s given twice", k)
		}
		params[k] = v
	}
	return params, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
