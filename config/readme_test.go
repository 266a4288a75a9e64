package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// tomlText writes a value of the key table as TOML text: "10s", 2, true, [].
func tomlText(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []any:
		items := make([]string, len(v))
		for i, item := range v {
			items[i] = tomlText(item)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// The README's configuration table has one row per key, in the table's
// order, with the key's default, so that operators reading it are not
// missing one or misled about one.
func TestReadmeListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{} // key: default cell
	var order []string
	for _, l := range strings.Split(section, "\n") {
		cells := strings.Split(l, " | ")
		if len(cells) < 3 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		name := strings.Trim(strings.TrimPrefix(cells[0], "| "), "`")
		rows[name] = cells[1]
		order = append(order, name)
	}
	def := Default()
	var want []string
	for _, k := range keys {
		want = append(want, k.name)
		cell, ok := rows[k.name]
		if !ok {
			t.Errorf("README.md has no row for `%s`", k.name)
			continue
		}
		if d := "`" + tomlText(k.toml(&def)) + "`"; cell != d {
			t.Errorf("README.md: `%s` has default %s, want %s", k.name, cell, d)
		}
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("README.md's configuration rows:\n %v\nwant the key table's:\n %v", order, want)
	}
}
