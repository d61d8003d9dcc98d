// SPDX-License-Identifier: Apache-2.0

package config

import (
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// setting describes one key of the file. The table below is the single
// source of truth for the key's name, type, default, bounds and
// documentation.
type setting struct {
	name    string
	section string // heading it is listed under in the default file
	kind    kind   // type, default and bounds
	doc     string // comment text for the default file, wrapped by hand
}

const (
	sectionAccess  = "Access control"
	sectionCache   = "Decision cache"
	sectionAudit   = "Auditing and logging"
	sectionClients = "Clients and limits"
	sectionGuard   = "The guard (virt-acl-helper guard)"
)

// DefaultMaxEventCallbacks is guard_max_event_callbacks' default.
const DefaultMaxEventCallbacks = 64

// DefaultXMLPolicy is where the guard reads its XML content policy.
const DefaultXMLPolicy = "/etc/virt-acl-helper/xml-policy.toml"

// settings returns the key table, in the order of the default file. It is
// a function rather than a variable so that no caller can change it.
func settings() []setting {
	return []setting{
		{
			name:    "access_drivers",
			section: sectionAccess,
			kind: stringList{
				def:     []string{acl.AccessDriverPolkit},
				choices: []string{acl.AccessDriverNone, acl.AccessDriverPolkit},
				get:     func(c *Config) []string { return c.AccessDrivers },
				set:     func(c *Config, v []string) { c.AccessDrivers = v },
			},
			doc: `Access drivers consulted for every check, in this order. As in
libvirtd.conf, a request is allowed only if every listed driver
allows it.

  "polkit"  asks polkit about the org.libvirt.api.* action
  "none"    allows everything

Listing "none" alone turns access control off: anyone who can talk
to libvirt may do anything. The daemon warns about it at start.`,
		},
		{
			name:    "polkit_timeout",
			section: sectionAccess,
			kind: integer{
				def: 10, min: 1, max: 120,
				accessor: seconds(func(c *Config) *time.Duration { return &c.PolkitTimeout }),
			},
			doc: `Seconds to wait for polkit to answer one check. A check polkit
does not answer in time is denied.`,
		},
		{
			name:    "restrict_object_details",
			section: sectionAccess,
			kind: integer{
				def: 0, min: 0, max: 1,
				accessor: flag(func(c *Config) *bool { return &c.RestrictObjectDetails }),
			},
			doc: `Set to 1 to take object details (names, UUIDs, paths: what
polkit rules read with action.lookup) only from privileged callers:
root, and callers polkit grants io.github.virt-acl-helper.check-other,
such as a proxy asking about its clients. Anyone else asking about
itself is then decided, and audited, on the object's type, its
connect_driver and the permission only. Set it when audit records
serve as evidence and unprivileged users have no need to ask about
named objects themselves (their clients go through a proxy): a user
can then neither write records that name another user's VM nor probe
what the rules say about objects by name. With 0 a user may ask
about any object it names; its records say requester=self.`,
		},
		{
			name:    "cache_size",
			section: sectionCache,
			kind: integer{
				def: 65536, min: 0, max: 10_000_000,
				accessor: number(func(c *Config) *int { return &c.CacheSize }),
			},
			doc: `Most access decisions kept in the cache. When it is full, the
least recently used decision is dropped. 0 turns the cache off, so
every request asks the access drivers.`,
		},
		{
			name:    "cache_allow_ttl",
			section: sectionCache,
			kind: integer{
				def: 30, min: 0, max: 3600,
				accessor: seconds(func(c *Config) *time.Duration { return &c.CacheAllowTTL }),
			},
			doc: `Seconds an "allowed" decision stays cached. A polkit rule change
or a revoked authorization can take this long to reach a process
that was allowed before. 0 never caches allowed decisions.`,
		},
		{
			name:    "cache_deny_ttl",
			section: sectionCache,
			kind: integer{
				def: 10, min: 0, max: 3600,
				accessor: seconds(func(c *Config) *time.Duration { return &c.CacheDenyTTL }),
			},
			doc: `Seconds a "denied" decision stays cached. A newly granted
permission can take this long to apply. 0 never caches denials.`,
		},
		{
			name:    "audit_level",
			section: sectionAudit,
			kind: integer{
				def: int64(AuditIfAvailable), min: int64(AuditOff), max: int64(AuditRequired),
				accessor: number(func(c *Config) *AuditLevel { return &c.AuditLevel }),
			},
			doc: `Kernel audit records, one per access decision:

  0  never write audit records
  1  write them if the host has auditing enabled
  2  write them, and refuse to start if the host has auditing
     disabled`,
		},
		{
			name:    "audit_logging",
			section: sectionAudit,
			kind: integer{
				def: 0, min: 0, max: 1,
				accessor: flag(func(c *Config) *bool { return &c.AuditLogging }),
			},
			doc: `Set to 1 to also write every access decision to the daemon's
log, in addition to the audit record. This logs a line per check.`,
		},
		{
			name:    "log_level",
			section: sectionAudit,
			kind: integer{
				def: int64(LogWarning), min: int64(LogDebug), max: int64(LogError),
				accessor: number(func(c *Config) *LogLevel { return &c.LogLevel }),
			},
			doc: `Logging level, numbered as in libvirt:

  1  debug
  2  info
  3  warning
  4  error`,
		},
		{
			name:    "rate_limit",
			section: sectionClients,
			kind: integer{
				def: 100, min: 0, max: 1_000_000,
				accessor: number(func(c *Config) *int { return &c.RateLimit }),
			},
			doc: `Decisions a second, on average, that the processes of one user
may ask for (a CheckMany of n objects counts n). Every decision
writes an audit record, so this bounds how fast one user can fill
the audit log and rotate away its history. Over the limit a call
fails with RateLimited, and each limited user gets one audit record
(reason=rate-limited, with the number of refused calls) every 10
seconds, never one per refused call. Root and callers polkit grants
io.github.virt-acl-helper.check-other (proxies, which should limit
their own clients) are not limited. 0 turns the limit off.`,
		},
		{
			name:    "rate_limit_burst",
			section: sectionClients,
			kind: integer{
				def: 500, min: 1, max: 10_000_000,
				accessor: number(func(c *Config) *int { return &c.RateLimitBurst }),
			},
			doc: `Decisions one user may ask for at once before rate_limit applies.`,
		},
		{
			name:    "max_clients",
			section: sectionClients,
			kind: integer{
				def: 256, min: 1, max: 65536,
				accessor: number(func(c *Config) *int { return &c.MaxClients }),
			},
			doc: `Most client connections served at once. Further connections wait
until one closes.`,
		},
		{
			name:    "max_message_size",
			section: sectionClients,
			kind: integer{
				def: 4 << 20, min: 1024, max: 32 << 20,
				accessor: number(func(c *Config) *int { return &c.MaxMessageSize }),
			},
			doc: `Largest request accepted from a client, in bytes. A larger one
is refused and its connection closed.`,
		},
		{
			name:    "max_objects",
			section: sectionClients,
			kind: integer{
				def: 16384, min: 1, max: 1_000_000,
				accessor: number(func(c *Config) *int { return &c.MaxObjects }),
			},
			doc: `Most objects one CheckMany request may ask about.`,
		},
		{
			name:    "client_timeout",
			section: sectionClients,
			kind: integer{
				def: 30, min: 1, max: 3600,
				accessor: seconds(func(c *Config) *time.Duration { return &c.ClientTimeout }),
			},
			doc: `Seconds a connection may stay silent, whether in the middle of
a request or between requests, before the daemon closes it.`,
		},
		{
			name:    "max_clients_per_user",
			section: sectionClients,
			kind: integer{
				def: 16, min: 1, max: 65536,
				accessor: number(func(c *Config) *int { return &c.MaxClientsPerUser }),
			},
			doc: `Most connections the processes of one user may hold at once;
further ones are closed with TooManyConnections. Root and callers
polkit grants io.github.virt-acl-helper.check-other are not limited.`,
		},
		{
			name:    "max_clients_reserved",
			section: sectionClients,
			kind: integer{
				def: 32, min: 0, max: 65536,
				accessor: number(func(c *Config) *int { return &c.MaxClientsReserved }),
			},
			doc: `Of max_clients, the connections kept for root and callers polkit
grants io.github.virt-acl-helper.check-other (proxies): other users
together may hold at most max_clients minus these (at least one), so
they cannot take every slot from the proxies.`,
		},
		{
			name:    "client_max_lifetime",
			section: sectionClients,
			kind: integer{
				def: 600, min: 0, max: 86400,
				accessor: seconds(func(c *Config) *time.Duration { return &c.ClientMaxLifetime }),
			},
			doc: `Seconds a connection of a user other than root may stay open,
however busy: after that it is closed after its current call, so a
trickle of calls cannot hold a slot forever. Clients reconnect.
Root's connections, and a proxy's admitted to a reserved slot, are
not cut. 0 lets connections stay open.`,
		},
		{
			name:    "max_large_requests",
			section: sectionClients,
			kind: integer{
				def: 4, min: 1, max: 1024,
				accessor: number(func(c *Config) *int { return &c.MaxLargeRequests }),
			},
			doc: `Requests over 64 KiB (large CheckMany calls) read and handled at
once; more wait. One of max_message_size (4 MiB) costs about 24 MiB
of memory while it is decoded and decided, so this bounds the
daemon's memory: the unit's MemoryMax= is sized from it.`,
		},
		{
			name:    "polkit_max_calls",
			section: sectionAccess,
			kind: integer{
				def: 64, min: 1, max: 120,
				accessor: number(func(c *Config) *int { return &c.PolkitMaxCalls }),
			},
			doc: `Most polkit calls in flight at once. They share one system bus
connection, on which dbus-daemon allows 128 pending replies; past
that, polkit would be "unavailable" for everyone. The calls are
shared fairly among the users waiting for one, so that one user's
uncached CheckMany cannot take them all.`,
		},
		{
			name:    "idle_timeout",
			section: sectionClients,
			kind: integer{
				def: 120, min: 0, max: 86400,
				accessor: seconds(func(c *Config) *time.Duration { return &c.IdleTimeout }),
			},
			doc: `Seconds without any client connection after which the daemon
exits; socket activation starts it again on the next connection.
0 keeps it running.`,
		},
		{
			name:    "xml_policy",
			section: sectionGuard,
			kind: filePath{
				def: DefaultXMLPolicy,
				get: func(c *Config) string { return c.XMLPolicy },
				set: func(c *Config, v string) { c.XMLPolicy = v },
			},
			doc: `The XML content policy the guard applies to every domain XML a
caller who is not an admin sends (define, create, attach, snapshot,
block copy, backup, save and migrate XML). An invalid file, or a
missing one at another path than this default, stops the guard from
starting, and a reload from taking effect: the guard never runs
unfiltered by accident. Without the default file the built-in default
policy (the same file) applies. "" turns the content policy
off, which makes whoever may define or change a VM root on the host
(libvirt's own model).`,
		},
		{
			name:    "allow_host_path_calls",
			section: sectionGuard,
			kind: integer{
				def: 0, min: 0, max: 1,
				accessor: flag(func(c *Config) *bool { return &c.AllowHostPathCalls }),
			},
			doc: `Set to 1 to let callers who are not admins make the calls that
have libvirtd (as root) write or read a host path they name: save,
restore and core dump to or from a file, save-image XML, block rebase
with a copy. With 0, the default, the guard refuses them while
xml_policy is set.`,
		},
		{
			name:    "guard_create_own",
			section: sectionGuard,
			kind: integer{
				def: 0, min: 0, max: 1,
				accessor: flag(func(c *Config) *bool { return &c.GuardCreateOwn }),
			},
			doc: `Set to 1 to let users with a roles create grant (domain = "new")
define domains of their own through the guard: the guard records each
one's creator with the grant's role in the roles' grants.toml and
applies the roles' polkit rule before the define returns. Needs
xml_policy. Read at start only.`,
		},
		{
			name:    "guard_max_event_callbacks",
			section: sectionGuard,
			kind: integer{
				def: DefaultMaxEventCallbacks, min: 1, max: 65536,
				accessor: number(func(c *Config) *int { return &c.GuardMaxEventCallbacks }),
			},
			doc: `Event callbacks one client connection of the guard may have
registered at once (domain, network, storage pool, node device,
secret and QEMU monitor events); a registration past it is refused
with a "resource busy" error, and audited. The guard decides and
audits every event libvirtd delivers to each callback, so the
callbacks a client holds multiply the audit records its events
write. 64 holds one callback of every event type for all objects
(35 in libvirt 9.0) with room for callbacks on single objects; raise
it for clients that register one per object. Root is not limited.`,
		},
		{
			name:    "guard_idle_timeout",
			section: sectionGuard,
			kind: integer{
				def: 120, min: 0, max: 86400,
				accessor: seconds(func(c *Config) *time.Duration { return &c.GuardIdleTimeout }),
			},
			doc: `Seconds without any client connection after which the guard
(virt-acl-helper guard) exits when its sockets started it; the next
connection starts it again, as libvirtd's own socket units do with
--timeout 120. A guard started by hand on --listen paths keeps
running. 0 keeps it running.`,
		},
	}
}

// lookup returns the setting for name.
func lookup(name string) (setting, bool) {
	for _, s := range settings() {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}
