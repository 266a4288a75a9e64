package systemd

import (
	"context"
	"fmt"
	"path"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// Units sets properties of systemd units over D-Bus. Setting a slice's
// MemoryHigh this way (at runtime, not persisted across boots) is what
// systemd expects: a direct write to memory.high of a systemd-managed slice
// can be undone by a daemon-reload or by the kubelet's cgroup sync.
type Units struct {
	conn *sddbus.Conn
}

// DialUnits connects to systemd on the system bus. ctx must live as long as
// the connection: godbus closes the connection when ctx ends.
func DialUnits(ctx context.Context) (*Units, error) {
	c, err := sddbus.NewWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
	}
	return &Units{conn: c}, nil
}

// SetHigh sets MemoryHigh of the slice unit whose cgroup is at the path
// from the cgroup2 mount (a systemd-driver pod slice is its own unit:
// /kubepods.slice/.../kubepods-burstable-pod<uid>.slice). D-Bus takes the
// number: cgroupv2.Unlimited (math.MaxUint64) is systemd's "infinity", the
// kernel's "max", which is how errors show it (cgroupv2.FormatLimit).
func (u *Units) SetHigh(ctx context.Context, cgroup string, value uint64) error {
	unit := path.Base(cgroup)
	prop := sddbus.Property{Name: "MemoryHigh", Value: dbus.MakeVariant(value)}
	if err := u.conn.SetUnitPropertiesContext(ctx, unit, true, prop); err != nil {
		return fmt.Errorf("systemd: set %s MemoryHigh=%s: %w", unit, cgroupv2.FormatLimit(value), err)
	}
	return nil
}

// Close closes the connection.
func (u *Units) Close() { u.conn.Close() }
