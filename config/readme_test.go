package config

import (
	"os"
	"strings"
	"testing"
)

// The README's configuration table names every key, so that operators
// reading it are not missing one.
func TestReadmeListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	for _, f := range c.fields() {
		if !strings.Contains(string(b), "| `"+f.key+"` |") {
			t.Errorf("README.md has no row for `%s`", f.key)
		}
	}
}
