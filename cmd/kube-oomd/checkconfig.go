package main

import (
	"fmt"

	"github.com/kube-oomd/kube-oomd/config"
)

// checkConfig validates a config file: exit 0 if valid, else every problem
// as FILE:LINE: key: what is wrong.
func (e *env) checkConfig(args []string) error {
	fs := e.flags("check-config")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := config.DefaultPath
	switch fs.NArg() {
	case 0:
	case 1:
		path = fs.Arg(0)
	default:
		return usageError{"check-config takes at most one file"}
	}
	if _, err := config.Load(path); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	return nil
}
