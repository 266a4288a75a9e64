package e2e

import (
	"encoding/json"
	"fmt"
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
