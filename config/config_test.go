// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

func TestDefault(t *testing.T) {
	want := Config{
		AccessDrivers:  []string{"polkit"},
		CacheSize:      65536,
		CacheAllowTTL:  30 * time.Second,
		CacheDenyTTL:   10 * time.Second,
		AuditLevel:     AuditIfAvailable,
		AuditLogging:   false,
		PolkitTimeout:  10 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxClients:     256,
		MaxMessageSize: 4194304,
		MaxObjects:     16384,
		ClientTimeout:  30 * time.Second,
		LogLevel:       LogWarning,

		RateLimit:          100,
		RateLimitBurst:     500,
		MaxClientsPerUser:  16,
		MaxClientsReserved: 32,
		ClientMaxLifetime:  600 * time.Second,
		MaxLargeRequests:   4,
		PolkitMaxCalls:     64,
		GuardIdleTimeout:   2 * time.Minute,

		XMLPolicy:              "/etc/virt-acl-helper/xml-policy.toml",
		GuardMaxEventCallbacks: 64,
	}
	if got := Default(); !reflect.DeepEqual(want, got) {
		t.Errorf("Default:\nwant %+v\ngot  %+v", want, got)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate: %v", err)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.AccessDrivers[0] = "none"
	if b := Default(); b.AccessDrivers[0] != acl.AccessDriverPolkit {
		t.Errorf("changing one Default changed the next: %v", b.AccessDrivers)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" for valid
	}{
		{"default", func(c *Config) {}, ""},
		{"none and polkit", func(c *Config) { c.AccessDrivers = []string{"none", "polkit"} }, ""},
		{"nil drivers", func(c *Config) { c.AccessDrivers = nil }, "access_drivers: must not be empty"},
		{"unknown driver", func(c *Config) { c.AccessDrivers = []string{"selinux"} },
			`access_drivers: unknown value "selinux", expected one of "none", "polkit"`},
		{"duplicate driver", func(c *Config) { c.AccessDrivers = []string{"none", "none"} },
			`access_drivers: "none" is listed twice`},
		{"negative cache", func(c *Config) { c.CacheSize = -1 }, "cache_size: must be between 0 and 10000000, got -1"},
		{"ttl too long", func(c *Config) { c.CacheDenyTTL = time.Hour + time.Second },
			"cache_deny_ttl: must be between 0 and 3600, got 3601"},
		{"fraction of a second", func(c *Config) { c.CacheAllowTTL = 1500 * time.Millisecond },
			"cache_allow_ttl: must be a whole number of seconds"},
		{"negative fraction", func(c *Config) { c.IdleTimeout = -time.Millisecond },
			"idle_timeout: must be a whole number of seconds"},
		{"zero polkit timeout", func(c *Config) { c.PolkitTimeout = 0 }, "polkit_timeout: must be between 1 and 120, got 0"},
		{"audit level", func(c *Config) { c.AuditLevel = 3 }, "audit_level: must be between 0 and 2, got 3"},
		{"log level", func(c *Config) { c.LogLevel = 0 }, "log_level: must be between 1 and 4, got 0"},
		{"zero config", func(c *Config) { *c = Config{} }, "access_drivers: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Error() != tt.want || e.File != "" || e.Line != 0 {
				t.Errorf("Validate:\nwant %s\ngot  %#v", tt.want, err)
			}
		})
	}
}

func TestAccessControlDisabled(t *testing.T) {
	tests := []struct {
		drivers []string
		want    bool
	}{
		{[]string{"none"}, true},
		{[]string{"polkit"}, false},
		{[]string{"none", "polkit"}, false},
		{[]string{"polkit", "none"}, false},
	}
	for _, tt := range tests {
		c := Default()
		c.AccessDrivers = tt.drivers
		if got := c.AccessControlDisabled(); got != tt.want {
			t.Errorf("AccessControlDisabled with %q: want %v, got %v", tt.drivers, tt.want, got)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "f.conf", Line: 3, Key: "k", Msg: "bad"}, "f.conf:3: k: bad"},
		{&Error{File: "f.conf", Line: 3, Msg: "bad"}, "f.conf:3: bad"},
		{&Error{File: "f.conf", Msg: "bad"}, "f.conf: bad"},
		{&Error{Line: 3, Key: "k", Msg: "bad"}, "line 3: k: bad"},
		{&Error{Key: "k", Msg: "bad"}, "k: bad"},
		{&Error{Msg: "bad", Err: cause}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error(): want %q, got %q", tt.want, got)
		}
	}
	if err := error(&Error{Msg: "x", Err: cause}); !errors.Is(err, cause) {
		t.Error("Unwrap does not reach the cause")
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cache_sise", "cache_size"},
		{"cachesize", "cache_size"},
		{"CACHE_SIZE", "cache_size"},
		{"max_client", "max_clients"},
		{"access_driver", "access_drivers"},
		{"loglevel", "log_level"},
		{"audit", ""},
		{"", ""},
		{"timeout", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in); got != tt.want {
			t.Errorf("suggest(%q): want %q, got %q", tt.in, tt.want, got)
		}
	}
}
