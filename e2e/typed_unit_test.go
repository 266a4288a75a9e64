package e2e

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func TestMissingFields(t *testing.T) {
	type pod struct {
		UID   string `json:"uid"`
		Alive bool   `json:"alive"`
	}
	type result struct {
		Pods    map[string]pod `json:"pods"`
		Leaker  pod            `json:"leaker"`
		Killed  bool           `json:"killed"`
		Comment string         `json:"comment,omitempty"`
	}
	src := map[string]any{
		"pods":   map[string]any{},
		"leaker": map[string]any{"uid": "u1"},
	}
	got := missingFields(reflect.TypeOf(result{}), src, "run")
	want := []string{"run.leaker.alive", "run.killed"}
	if !slices.Equal(got, want) {
		t.Errorf("missingFields = %q, want %q", got, want)
	}
}

func TestMissingFieldsNullPointersMapsEmbedded(t *testing.T) {
	type pod struct {
		UID   string  `json:"uid"`
		First *string `json:"first"`
	}
	type common struct {
		Survived bool `json:"survived"`
	}
	type result struct {
		common
		Pods   map[string]pod `json:"pods"`
		List   []pod          `json:"list"`
		Worst  float64        `json:"worst"`
		Death  *float64       `json:"death"`
		Counts map[string]int `json:"counts"`
	}
	src := map[string]any{
		"pods":   map[string]any{"a": map[string]any{"uid": "u"}, "b": map[string]any{"first": "x"}, "c": nil},
		"list":   []any{map[string]any{"uid": nil}},
		"worst":  nil,
		"death":  nil,
		"counts": map[string]any{"x": 1.0, "y": nil},
	}
	got := missingFields(reflect.TypeOf(result{}), src, "run")
	want := []string{"run.survived", "run.pods.b.uid", "run.pods.c", "run.list[0].uid", "run.worst", "run.counts.y"}
	if !slices.Equal(got, want) {
		t.Errorf("missingFields = %q, want %q", got, want)
	}
}

func TestTextReadsWordsAndNumbers(t *testing.T) {
	var v struct {
		A, B, C text
	}
	if err := json.Unmarshal([]byte(`{"A": "max", "B": -1000, "C": 268435456}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "max" || v.B != "-1000" || v.C != "268435456" {
		t.Errorf("got %q %q %q", v.A, v.B, v.C)
	}
	if err := json.Unmarshal([]byte(`{"A": true}`), &v); err == nil {
		t.Errorf("a boolean read as text")
	}
}
