package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// missingFields lists the required fields of struct type t that src lacks
// or has as null. A field is required unless its json tag says omitempty or
// it is a pointer (nil: the guest did not write it, or wrote null). It looks
// into nested structs, embedded ones (their fields are the parent's), and
// the structs in maps and slices.
func missingFields(t reflect.Type, src any, prefix string) []string {
	switch t.Kind() {
	case reflect.Map:
		m, _ := src.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, missingValue(t.Elem(), m[k], strings.TrimPrefix(prefix+"."+k, "."))...)
		}
		return out
	case reflect.Slice:
		l, _ := src.([]any)
		var out []string
		for i, x := range l {
			out = append(out, missingValue(t.Elem(), x, fmt.Sprintf("%s[%d]", prefix, i))...)
		}
		return out
	case reflect.Struct:
	default:
		return nil
	}
	m, _ := src.(map[string]any)
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, missingFields(f.Type, src, prefix)...)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := strings.TrimPrefix(prefix+"."+name, ".")
		if v, ok := m[name]; ok && v != nil {
			out = append(out, missingFields(f.Type, v, path)...)
		} else if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			out = append(out, path)
		}
	}
	return out
}

// missingValue: an element of a map or slice, which must not be null
// unless it is a pointer.
func missingValue(t reflect.Type, v any, path string) []string {
	if v == nil && t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		return []string{path}
	}
	return missingFields(t, v, path)
}

// text is a fact that the guest writes as a word or a number ("max",
// "gone", -1000, 268435456): result.py turns plain numbers into JSON
// numbers, so a typed result reads such a fact as text.
type text string

func (x *text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*x = text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a word or a number, have %s", b)
	}
	*x = text(n.String())
	return nil
}
