package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every override variable.
const EnvPrefix = "FHIRBRIDGE_"

// applyEnv sets the fields named by FHIRBRIDGE_* variables: the yaml key
// path upper-cased with "__" between levels. Lists of scalars take a
// comma-separated value; a section that is absent (a connector) is
// created by its first override. An unknown variable is an error, so a
// typo under a known section does not silently leave a default in place. Routes, a list of
// sections, are set in the file only. Variables whose first level names
// no section are ignored: other tools share the prefix.
func applyEnv(c *Config, env []string) error {
	known := map[string]reflect.Value{}
	var unknown []string
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) || k == EnvPrefix+"CONFIG" {
			continue
		}
		path := strings.Split(strings.TrimPrefix(k, EnvPrefix), "__")
		f, err := field(reflect.ValueOf(c).Elem(), path)
		if err != nil {
			// a misspelt key under a known section is an error; a variable
			// outside every section (FHIRBRIDGE_REQUIRE_POSTGRES, say) is
			// someone else's and left alone
			if _, serr := field(reflect.ValueOf(&Config{}).Elem(), path[:1]); serr == nil {
				unknown = append(unknown, k)
			}
			continue
		}
		known[k] = f
		if key, sec := securityPath(reflect.TypeOf(Config{}), path); sec && blank(v) {
			return errEmptyOverride(k, key)
		}
		if err := setScalar(f, v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown configuration variable %s (want FHIRBRIDGE_ + a key path such as FHIRBRIDGE_CONNECTORS__SOLO__BASE_URL)", unknown[0])
	}
	return nil
}

// field walks path (upper-cased yaml keys) from v, allocating absent
// sections.
func field(v reflect.Value, path []string) (reflect.Value, error) {
	for _, step := range path {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct || v.Type() == reflect.TypeOf(Secret{}) {
			return reflect.Value{}, fmt.Errorf("no key %s", step)
		}
		if v.Type() == connectorsType {
			if sec, ok := v.Addr().Interface().(*Connectors).moduleSection(step); ok {
				v = sec
				continue
			}
		}
		t := v.Type()
		found := false
		for i := 0; i < t.NumField(); i++ {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if tag != "" && strings.ToUpper(tag) == step {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, fmt.Errorf("no key %s", step)
		}
	}
	return v, nil
}

var textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// setScalar parses s into f by f's type.
func setScalar(f reflect.Value, s string) error {
	switch {
	case f.Type() == reflect.TypeOf(Secret{}):
		f.Set(reflect.ValueOf(Secret{value: s, source: "environment override"}))
		return nil
	case f.Type() == databaseURLType:
		f.Set(reflect.ValueOf(DatabaseURL{Secret{value: s, source: "environment override"}}))
		return nil
	case f.Addr().Type().Implements(textUnmarshalerType):
		// a module's own types (connectors.Secret, connectors.Duration)
		if err := f.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return err
		}
		return nil
	case f.Type() == reflect.TypeOf(Duration(0)):
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration (want e.g. 30s)")
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		f.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		f.SetBool(b)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("set in the config file only")
		}
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("set in the config file only")
	}
	return nil
}
