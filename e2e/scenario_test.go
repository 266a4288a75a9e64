//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
)

// A scenario is a guest script, guest/scenarios/NN-name.sh, and its
// assertions, in sNN_name_test.go, which registers them from init:
//
//	func init() { register("NN", gate, checkName) }
//
// checkName decodes the guest's result, or each run's prefix, into a typed
// struct with json tags (decodeResult: a field is required unless it is a
// pointer or omitempty), reusing the shared shapes of facts_test.go,
// leak_test.go (leakRun), episode_test.go (episodeOf) and node_test.go,
// and asserts on its fields; journal records are read by internal/vocab's
// names. Add the struct to typedResults (typed_fault_test.go).
//
// The kind says which target runs it.
type kind int

const (
	// gate: `make test` only. What kube-oomd promises, on a real kernel.
	gate kind = iota
	// gateAndCompare: `make test` runs kube-oomd's runs and checks its
	// promises; `make compare` (KUBE_OOMD_E2E_COMPARE=1) runs the same
	// scenario with the kernel-alone runs added (lib.sh's comparing),
	// prints the side-by-side tables and checks the ratios.
	gateAndCompare
	// compareOnly: a benchmark, `make compare` only.
	compareOnly
)

type scenario struct {
	kind  kind
	check func(*testing.T, *R)
}

// registry: the scenarios' assertions by number (NN), filled by init.
var registry = map[string]scenario{}

func register(id string, k kind, check func(*testing.T, *R)) {
	if _, dup := registry[id]; dup {
		panic("e2e: scenario " + id + " registered twice")
	}
	registry[id] = scenario{k, check}
}

// scenarioID: "01" of "01-leak".
func scenarioID(name string) string { return strings.SplitN(name, "-", 2)[0] }

// comparing: `make compare` (KUBE_OOMD_E2E_COMPARE=1): the kernel-alone
// runs and the ratios, not the gate.
func comparing() bool { return os.Getenv("KUBE_OOMD_E2E_COMPARE") != "" }

// selected: whether this run (the gate, or make compare) runs the scenario.
// One without a registration is selected, so that it fails for want of
// assertions rather than being left out.
func selected(name string) bool {
	sc, ok := registry[scenarioID(name)]
	if !ok {
		return true
	}
	if comparing() {
		return sc.kind != gate
	}
	return sc.kind != compareOnly
}
