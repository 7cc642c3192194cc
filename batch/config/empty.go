package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// A security setting is a field tagged `security:"true"` (bearer tokens,
// TLS and host-key files, transport encryption) or a secret. An empty
// value for one — an override variable set to "", a key written with no
// value — would quietly switch authentication or encryption off, so it is
// refused, naming the key: unset the variable or remove the key instead.

var (
	secretType       = reflect.TypeOf(Secret{})
	moduleSecretType = reflect.TypeOf(connectors.Secret(""))
	databaseURLType  = reflect.TypeOf(DatabaseURL{})
)

// isSecurity reports whether the struct field f is a security setting.
func isSecurity(f reflect.StructField) bool {
	return f.Tag.Get("security") == "true" || f.Type == secretType || f.Type == moduleSecretType || f.Type == databaseURLType
}

// yamlKey is f's key in the file ("" for none).
func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return k
}

// securityPath reports whether the override path (upper-cased keys) ends
// on a security setting, and gives its dotted key.
func securityPath(t reflect.Type, path []string) (key string, ok bool) {
	var keys []string
	var last reflect.StructField
	for _, step := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "", false
		}
		if t == connectorsType {
			if mt, ok := moduleSectionType(step); ok {
				keys = append(keys, strings.ToLower(step))
				t = mt
				continue
			}
		}
		found := false
		for i := 0; i < t.NumField(); i++ {
			if k := yamlKey(t.Field(i)); k != "" && strings.ToUpper(k) == step {
				last, found = t.Field(i), true
				keys = append(keys, k)
				t = last.Type
				break
			}
		}
		if !found {
			return "", false
		}
	}
	return strings.Join(keys, "."), len(keys) > 0 && isSecurity(last)
}

// blank reports whether an override value is empty: only spaces, or for a
// list only commas and spaces.
func blank(v string) bool {
	return strings.Trim(v, ", \t") == ""
}

// emptyInFile lists the security settings written in the file with no
// value (null, "", [] or {}), each by its key.
func emptyInFile(data []byte) (errs []error) {
	defer func() {
		if recover() != nil {
			errs = nil // decode has already read the file; nothing more to say
		}
	}()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil
	}
	var keys []string
	walkEmpty(reflect.TypeOf(Config{}), doc, "", &keys)
	sort.Strings(keys)
	for _, k := range keys {
		errs = append(errs, fmt.Errorf("%s: empty value for a security setting; give a value or remove the key", k))
	}
	return errs
}

// walkEmpty follows node (decoded YAML) along t, collecting the keys of
// empty security settings.
func walkEmpty(t reflect.Type, node any, at string, keys *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := node.(map[string]any)
		if !ok || t == secretType || t == databaseURLType {
			return
		}
		if t == connectorsType {
			for k, v := range m {
				if mt, ok := moduleSectionType(k); ok {
					walkEmpty(mt, v, strings.TrimPrefix(at+"."+k, "."), keys)
				}
			}
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			k := yamlKey(f)
			v, present := m[k]
			if k == "" || !present {
				continue
			}
			path := strings.TrimPrefix(at+"."+k, ".")
			if isSecurity(f) && emptyNode(v) {
				*keys = append(*keys, path)
				continue
			}
			walkEmpty(f.Type, v, path, keys)
		}
	case reflect.Slice:
		if l, ok := node.([]any); ok {
			for i, v := range l {
				walkEmpty(t.Elem(), v, fmt.Sprintf("%s[%d]", at, i), keys)
			}
		}
	case reflect.Map:
		if m, ok := node.(map[string]any); ok {
			for k, v := range m {
				walkEmpty(t.Elem(), v, at+"."+k, keys)
			}
		}
	}
}

// emptyNode reports whether a decoded YAML value is empty.
func emptyNode(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// errEmptyOverride is the refusal of an empty override variable.
func errEmptyOverride(name, key string) error {
	return errors.New(name + " (" + key + "): empty value for a security setting; unset the variable to keep the file's value, or give one")
}
