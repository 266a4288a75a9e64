// Package e2e holds kube-oomd's end-to-end tests, which boot a Debian VM
// under qemu and run the daemon against a real cgroup v2 kernel. They are
// behind the build tag e2e, so that `go test ./...` stays fast and unit-only:
//
//	go test -tags e2e -v -timeout 60m ./e2e/
//
// See README.md.
package e2e
