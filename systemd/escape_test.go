package systemd

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Issue 19 item 6: a name the container runtime gives goes into STATUS=,
// and sd_notify is newline-separated KEY=VALUE: a newline in it would add
// a key of its own. Whatever a caller passes, STATUS= stays one line.
func TestStatusIsOneLine(t *testing.T) {
	var states []string
	n := NewNotifierFunc(func(s string) { states = append(states, s) })
	n.Status("last: killed shop/x\nWATCHDOG=trigger\r\x1b[31m\u0085\xff (BestEffort)")
	if len(states) != 1 {
		t.Fatalf("states = %q, want one", states)
	}
	want := `STATUS=last: killed shop/x\nWATCHDOG=trigger\r\x1b[31m\u0085\xff (BestEffort)`
	if states[0] != want {
		t.Errorf("state = %q, want %q", states[0], want)
	}
	if lines := strings.Split(states[0], "\n"); len(lines) != 1 {
		t.Errorf("state has %d lines, want 1: %q", len(lines), lines)
	}
	n.Status("watching 3 pods under /kubepods.slice, mode pod; last: killed shop/cart (BestEffort, sustained-pressure)")
	if states[1] != "STATUS=watching 3 pods under /kubepods.slice, mode pod; last: killed shop/cart (BestEffort, sustained-pressure)" {
		t.Errorf("a plain status changed: %q", states[1])
	}
}

// Issue 19 item 7: MESSAGE quotes every value with a control or
// non-printable character, so that a name cannot forge a journal line or
// reach a terminal raw; the field of its own keeps the exact value.
func TestMessageQuotesControlCharacters(t *testing.T) {
	log, got := capture(slog.LevelInfo)
	log.Warn("killed pod", "pod_namespace", "\x1b[31mred", "pod_name", "x\nMESSAGE_ID=forged", "container", "a\tb",
		"pod_uid", "plain", "odd", "\u2028\xff", "cgroup", "/a b")
	if len(*got) != 1 {
		t.Fatalf("sent %d records, want 1", len(*got))
	}
	r := (*got)[0]
	want := `killed pod pod_namespace="\x1b[31mred" pod_name="x\nMESSAGE_ID=forged" container="a\tb" pod_uid=plain odd="\u2028\xff" cgroup="/a b"`
	if r.msg != want {
		t.Errorf("MESSAGE = %q,\nwant      %q", r.msg, want)
	}
	if r.vars["KUBE_OOMD_POD_NAME"] != "x\nMESSAGE_ID=forged" || r.vars["KUBE_OOMD_CONTAINER"] != "a\tb" || r.vars["KUBE_OOMD_POD_NAMESPACE"] != "\x1b[31mred" {
		t.Errorf("fields = %q, want the exact values", r.vars)
	}
	if _, ok := r.vars["MESSAGE_ID"]; ok {
		t.Errorf("a value forged MESSAGE_ID: %q", r.vars)
	}
}

// FuzzMessageValue: a value in MESSAGE has no control or non-printable
// character and no space unless quoted, and reads back as the value: a
// quoted one through strconv.Unquote, any other as it is.
func FuzzMessageValue(f *testing.F) {
	for _, s := range []string{"", "plain", "a b", `"`, "a=b", "x\nWATCHDOG=1", "\t", "\x1b[31m", "\u0085", "\u2028", "\xff", `\n`, "é", "\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := messageValue(s)
		if !utf8.ValidString(out) {
			t.Fatalf("messageValue(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || !strconv.IsPrint(r) {
				t.Fatalf("messageValue(%q) = %q: has %U", s, out, r)
			}
		}
		if strings.HasPrefix(out, `"`) {
			back, err := strconv.Unquote(out)
			if err != nil || back != s {
				t.Fatalf("messageValue(%q) = %q, reads back as %q, %v", s, out, back, err)
			}
			return
		}
		if out != s || strings.ContainsAny(out, " \"=") {
			t.Fatalf("messageValue(%q) = %q: unquoted, so it must be the value, without space, quote or =", s, out)
		}
	})
}
