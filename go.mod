module github.com/kube-oomd/kube-oomd

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/fsnotify/fsnotify v1.10.1
	golang.org/x/sys v0.49.0
)

require github.com/godbus/dbus/v5 v5.2.4
