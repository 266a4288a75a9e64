// Command pause is the e2e node's pod sandbox ("pause") image: it holds the
// pod's namespaces, reaps the children it inherits, and exits on SIGTERM or
// SIGINT. containerd's sandbox_image points at it, so the test VM needs no
// registry. It is not part of kube-oomd.
package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGCHLD)
	for s := range sigs {
		if s != unix.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
