package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// loadMapping loads spec, a shipped mapping name (tuotempo/export) or the
// path of a mapping file, with run-time parameters.
func loadMapping(spec string, params map[string]string) (*mapping.Mapping, error) {
	if isFile(spec) {
		abs, err := filepath.Abs(spec)
		if err != nil {
			return nil, err
		}
		return mapping.Load(os.DirFS(filepath.Dir(abs)), filepath.Base(abs), params)
	}
	if p, ok := shipped.Path(spec); ok {
		return mapping.Load(shipped.FS, p, params)
	}
	return nil, fmt.Errorf("no mapping %q: not a file, nor a shipped mapping (%s)", spec, strings.Join(shipped.Names(), ", "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
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
