package systemd

import (
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells systemd about the service's state through sd_notify. Where
// NOTIFY_SOCKET is unset (not run by systemd, or not Type=notify) every
// call does nothing.
type Notifier struct {
	notify func(state string) (bool, error)
}

// NewNotifier returns a Notifier on the NOTIFY_SOCKET of this process.
func NewNotifier() Notifier {
	return Notifier{notify: func(s string) (bool, error) { return daemon.SdNotify(false, s) }}
}

// NewNotifierFunc returns a Notifier that hands each state to fn: for tests,
// and for anything else that wants to see what systemd would be told.
func NewNotifierFunc(fn func(state string)) Notifier {
	return Notifier{notify: func(s string) (bool, error) { fn(s); return true, nil }}
}

// Ready says start-up is complete: the triggers are registered.
func (n Notifier) Ready() error { return n.send(daemon.SdNotifyReady) }

// Reloading says a configuration reload has begun; call Ready when it is done.
func (n Notifier) Reloading() error {
	return n.send(daemon.SdNotifyReloading + "\nMONOTONIC_USEC=" + daemon.SdNotifyMonotonicUsec())
}

// Stopping says the service is shutting down.
func (n Notifier) Stopping() error { return n.send(daemon.SdNotifyStopping) }

// Status sets the one-line status that `systemctl status` shows. Its
// control and non-printable characters are escaped (see oneLine): s may
// hold names the container runtime gave, and a newline would end STATUS=
// and start a key of its own.
func (n Notifier) Status(s string) error { return n.send("STATUS=" + oneLine(s)) }

// Watchdog pets the watchdog.
func (n Notifier) Watchdog() error { return n.send(daemon.SdNotifyWatchdog) }

func (n Notifier) send(state string) error {
	if n.notify == nil {
		return nil
	}
	_, err := n.notify(state)
	return err
}

// WatchdogInterval returns how often to pet the watchdog (half of
// WatchdogSec), or 0 when systemd does not expect it.
func WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}
