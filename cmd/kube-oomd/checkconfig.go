package main

import (
	"fmt"
	"strings"

	"github.com/kube-oomd/kube-oomd/config"
)

// checkConfig validates a config file and its drop-in directory, merged as
// the daemon merges them: exit 0 if valid, and the files read; else every
// problem as FILE:LINE: key: what is wrong.
func (e *env) checkConfig(args []string) error {
	fs := e.flags("check-config")
	if err := fs.Parse(args); err != nil {
		return err
	}
	flag := ""
	switch fs.NArg() {
	case 0:
	case 1:
		flag = fs.Arg(0)
	default:
		return usageError{"check-config takes at most one file"}
	}
	_, src, err := config.LoadFlag(flag)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", src.Path)
	writeSources(e, src)
	return nil
}

// writeSources prints the files check-config read, in order, and the
// entries of the drop-in directory it ignored.
func writeSources(e *env, src config.Sources) {
	read := "nothing"
	if paths := src.Paths(); len(paths) > 0 {
		read = strings.Join(paths, ", ")
	}
	if src.Missing {
		read += " (no " + src.Path + ": the built-in defaults)"
	}
	fmt.Fprintf(e.stdout, "read: %s\n", read)
	if len(src.Ignored) > 0 {
		fmt.Fprintf(e.stdout, "ignored: %s (only *.toml files in %s are read)\n", strings.Join(src.Ignored, ", "), config.DropinDir(src.Path))
	}
}
