// Package e2e holds kube-oomd's end-to-end tests, which boot a Debian VM
// under qemu and run the daemon against a real cgroup v2 kernel. They are
// behind the build tag e2e, so that `go test ./...` stays fast and unit-only:
//
//	go test -tags e2e -v -timeout 60m ./e2e/
//
// Without the tag, `go test ./...` runs only readme_test.go: README.md's
// install commands are, verbatim and in order, what scenario 11 runs.
//
// See README.md.
package e2e
