module github.com/virt-acl-helper/virt-acl-helper

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/elastic/go-libaudit/v2 v2.6.2
	github.com/go-json-experiment/json v1.27.2
	github.com/godbus/dbus/v5 v5.2.4
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/varlink/go v0.4.0
	golang.org/x/sync v0.24.0
	golang.org/x/sys v0.49.0
)
