//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"testing"
)

func init() { register("07", gate, checkBadConfig) }

func checkBadConfig(t *testing.T, r *R) {
	r.eq("good.check_rc", 0)
	for _, c := range []string{"bad_duration", "bad_mode", "bad_percent"} {
		file, line, key := r.str(c+".file"), int(r.num(c+".line")), r.str(c+".key")
		rc := int(r.num(c + ".run_rc"))
		out := r.str(c + ".run_output")
		switch {
		case rc == 0:
			t.Errorf("%s: kube-oomd run exited 0 with an invalid config", c)
		case rc == 124 || rc == 137:
			t.Errorf("%s: kube-oomd run did not exit within 30 s with an invalid config", c)
		}
		want := regexp.MustCompile(fmt.Sprintf(`(?m)%s:%d: (\w+\.)?%s: \S`, regexp.QuoteMeta(file), line, key))
		if !want.MatchString(out) {
			t.Errorf("%s: kube-oomd run output does not say %s:%d: %s: ...; it says:\n%s", c, file, line, key, out)
		}
		if crc := int(r.num(c + ".check_rc")); crc != 1 {
			t.Errorf("%s: check-config exited %d, want 1", c, crc)
		}
		if co := r.str(c + ".check_output"); !want.MatchString(co) {
			t.Errorf("%s: check-config output does not say %s:%d: %s: ...; it says:\n%s", c, file, line, key, co)
		}
	}
}
