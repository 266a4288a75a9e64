package relief

import (
	"time"

	"github.com/kube-oomd/kube-oomd/internal/statefile"
)

// Throttle is one memory.high that kube-oomd set and must give back.
type Throttle struct {
	Cgroup   string    `json:"cgroup"`       // from the cgroup2 mount
	ID       uint64    `json:"id,omitempty"` // the cgroup's ID when it was throttled (cgroupv2.ID)
	UID      string    `json:"uid"`
	QoS      string    `json:"qos"`
	Original uint64    `json:"original"` // memory.high before; cgroupv2.Unlimited is "max"
	Set      uint64    `json:"set"`      // what the throttle set
	Current  uint64    `json:"current"`  // in force now (rises while released)
	Ceiling  uint64    `json:"ceiling"`  // where release ends and Original comes back
	Since    time.Time `json:"since"`
	// Contained: it holds a pod whose growing processes a kill spares
	// (-1000), which kube-oomd contains instead (policy.PlanContain).
	Contained bool `json:"contained,omitempty"`
}

// Store keeps the throttles in force in a file, so that a daemon that
// crashed or was upgraded finds and restores them.
type Store struct {
	Path string // usually /run/kube-oomd/throttles.json
}

// Load returns the throttles recorded; none if there is no file.
func (s Store) Load() ([]Throttle, error) {
	return statefile.Load[Throttle](s.Path, "remove the file if no pod is throttled")
}

// Save records the throttles, atomically: a crash leaves the old or the new
// file, never half of one. No throttles remove the file.
func (s Store) Save(ts []Throttle) error { return statefile.Save(s.Path, ts) }
