//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"testing"
)

func init() { register("07", gate, checkBadConfig) }

// badConfig is one of scenario 07's configs, as the guest writes it: the
// file, the line and the key that is wrong, and what kube-oomd run and
// check-config said of it.
type badConfig struct {
	File        text    `json:"file"`
	Line        float64 `json:"line"`
	Key         text    `json:"key"`
	RunRC       float64 `json:"run_rc"`
	RunOutput   text    `json:"run_output"`
	CheckRC     float64 `json:"check_rc"`
	CheckOutput text    `json:"check_output"`
}

// badConfigResult is scenario 07's result.
type badConfigResult struct {
	Good struct {
		CheckRC float64 `json:"check_rc"`
	} `json:"good"`
	BadDuration badConfig `json:"bad_duration"`
	BadMode     badConfig `json:"bad_mode"`
	BadPercent  badConfig `json:"bad_percent"`
}

func checkBadConfig(t *testing.T, r *R) {
	d := decodeResult[badConfigResult](r, "")
	eq(t, "good.check_rc", d.Good.CheckRC, 0)
	for _, x := range []struct {
		c string
		badConfig
	}{{"bad_duration", d.BadDuration}, {"bad_mode", d.BadMode}, {"bad_percent", d.BadPercent}} {
		c := x.c
		file, line, key := string(x.File), int(x.Line), string(x.Key)
		rc := int(x.RunRC)
		out := string(x.RunOutput)
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
		if crc := int(x.CheckRC); crc != 1 {
			t.Errorf("%s: check-config exited %d, want 1", c, crc)
		}
		if co := string(x.CheckOutput); !want.MatchString(co) {
			t.Errorf("%s: check-config output does not say %s:%d: %s: ...; it says:\n%s", c, file, line, key, co)
		}
	}
}
