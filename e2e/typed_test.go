package e2e

import (
	"reflect"
	"strings"
)

// missingFields lists the required fields of struct type t that src lacks.
func missingFields(t reflect.Type, src any, prefix string) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	m, _ := src.(map[string]any)
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := strings.TrimPrefix(prefix+"."+name, ".")
		v, ok := m[name]
		if !ok {
			if !strings.Contains(opts, "omitempty") {
				out = append(out, path)
			}
			continue
		}
		out = append(out, missingFields(f.Type, v, path)...)
	}
	return out
}
