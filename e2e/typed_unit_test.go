package e2e

import (
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
