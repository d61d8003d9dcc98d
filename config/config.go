// SPDX-License-Identifier: Apache-2.0

// Package config reads the daemon's configuration file,
// /etc/virt-acl-helper/virt-acl-helper.conf, written in the syntax of
// libvirtd.conf: "key = value" lines with integers, double-quoted strings,
// lists that may span lines and "#" comments. Booleans are 0 or 1 and
// durations are whole seconds, as in libvirt.
//
// One table of key descriptors (keys.go) drives parsing, validation, the
// defaults and the commented default file in conf/, so they cannot disagree.
// The package only reports: deciding what to log is the daemon's job. It
// keeps no state, so its functions are safe for concurrent use.
package config

//go:generate go run gen.go -o ../conf/virt-acl-helper.conf

import (
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// DefaultPath is where the packages install the configuration file.
const DefaultPath = "/etc/virt-acl-helper/virt-acl-helper.conf"

// AuditLevel says whether access decisions are written to the kernel audit log.
type AuditLevel int

// Values of audit_level.
const (
	AuditOff         AuditLevel = 0 // never write audit records
	AuditIfAvailable AuditLevel = 1 // write them when the host has auditing enabled
	AuditRequired    AuditLevel = 2 // refuse to run without audit
)

// LogLevel is the daemon's log verbosity, numbered as libvirt numbers it.
type LogLevel int

// Values of log_level.
const (
	LogDebug   LogLevel = 1
	LogInfo    LogLevel = 2
	LogWarning LogLevel = 3
	LogError   LogLevel = 4
)

// Config is the daemon's configuration. The zero value is not valid: start
// from Default, Parse or Load. Each field's key, bounds and meaning are in
// the key table and in conf/virt-acl-helper.conf.
type Config struct {
	AccessDrivers  []string      // access_drivers: acl.AccessDriverNone and/or acl.AccessDriverPolkit, in order
	CacheSize      int           // cache_size: most cached decisions; 0 disables the cache
	CacheAllowTTL  time.Duration // cache_allow_ttl: how long an allow stays cached
	CacheDenyTTL   time.Duration // cache_deny_ttl: how long a deny stays cached
	AuditLevel     AuditLevel    // audit_level
	AuditLogging   bool          // audit_logging: also log each decision
	PolkitTimeout  time.Duration // polkit_timeout: limit for one polkit call
	IdleTimeout    time.Duration // idle_timeout: exit after this long without clients; 0 never
	MaxClients     int           // max_clients: concurrent connections
	MaxMessageSize int           // max_message_size: bytes per request
	MaxObjects     int           // max_objects: objects in one CheckMany
	ClientTimeout  time.Duration // client_timeout: silence allowed on a connection
	LogLevel       LogLevel      // log_level

	RestrictObjectDetails bool // restrict_object_details: only privileged callers may send object details
	RateLimit             int  // rate_limit: decisions a second per unprivileged uid; 0 none
	RateLimitBurst        int  // rate_limit_burst: decisions at once per unprivileged uid

	MaxClientsPerUser  int           // max_clients_per_user: connections one unprivileged uid may hold
	MaxClientsReserved int           // max_clients_reserved: slots of max_clients only privileged callers may take
	ClientMaxLifetime  time.Duration // client_max_lifetime: how long an unprivileged connection may stay open; 0 forever
	MaxLargeRequests   int           // max_large_requests: requests over 64 KiB read or handled at once
	PolkitMaxCalls     int           // polkit_max_calls: polkit calls in flight at once, shared per uid

	GuardIdleTimeout   time.Duration // guard_idle_timeout: the socket-activated guard exits after this long without clients; 0 never
	XMLPolicy          string        // xml_policy: the guard's XML content policy file; "" none
	AllowHostPathCalls bool          // allow_host_path_calls: the guard lets non-admins name host paths
	GuardCreateOwn     bool          // guard_create_own: roles create grants let users define domains of their own
	// GuardMaxEventCallbacks is guard_max_event_callbacks: event
	// callbacks one guard client connection may hold registered.
	GuardMaxEventCallbacks int
}

// Default returns the configuration used for keys the file does not set.
// Each call returns a fresh value that the caller may modify.
func Default() Config {
	var c Config
	for _, s := range settings() {
		s.kind.reset(&c)
	}
	return c
}

// Validate reports the first field of c that is out of bounds, as an *Error
// naming its key. Configs from Parse and Load are always valid; Validate is
// for configs built or changed in code.
func (c Config) Validate() error {
	for _, s := range settings() {
		if err := s.kind.check(&c); err != nil {
			return &Error{Key: s.name, Msg: err.Error()}
		}
	}
	return nil
}

// AccessControlDisabled reports whether "none" is the only access driver,
// so that every request is allowed. The daemon should warn loudly.
func (c Config) AccessControlDisabled() bool {
	return len(c.AccessDrivers) == 1 && c.AccessDrivers[0] == acl.AccessDriverNone
}
