package suggest

import "testing"

func TestNearest(t *testing.T) {
	valid := []string{"mode", "protect", "method"}
	for _, tc := range []struct {
		word, want string
		ok         bool
	}{
		{"modee", "mode", true},
		{"Mode", "mode", true},
		{"protcet", "protect", true},
		{"metod", "method", true},
		{"xyzzy", "", false},
		{"", "", false},
	} {
		got, ok := Nearest(tc.word, valid)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Nearest(%q) = %q, %v; want %q, %v", tc.word, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"status", "stauts", 2}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
