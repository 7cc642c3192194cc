package main

import (
	"fmt"
	"sort"
	"strings"
)

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
