module github.com/virt-acl-helper/virt-acl-helper

go 1.26.8

require github.com/pelletier/go-toml/v2 v2.4.3

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/elastic/go-libaudit/v2 v2.6.2 // indirect
	github.com/godbus/dbus/v5 v5.2.4 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/varlink/go v0.4.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
