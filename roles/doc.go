// SPDX-License-Identifier: Apache-2.0

// Package roles manages who may do what on which libvirt objects without
// hand-written polkit JavaScript: role definitions (sets of libvirt
// permissions per object type) and grants of a role to a user or group on
// objects named by UUID, read from a TOML file and a drop-in directory,
// validated against package acl's permission table, explained, and
// rendered into one polkit rule file that libvirtd's own polkit access
// driver, the helper and the guard all obey.
//
// # Files
//
// /etc/virt-acl-helper/roles.toml, then /etc/virt-acl-helper/roles.d/*.toml
// in lexical order. grant and revoke edit only roles.d/grants.toml
// (ManagedFile), so comments in the files people write are never lost.
//
//	[role.webops]                 # a custom role
//	description = "start and stop, nothing else"
//	connect = ["getattr"]         # connect-level permissions the role needs
//	domain = ["getattr", "read", "start", "stop"]
//
//	[[grant]]
//	role = "operator"             # built-in: viewer, operator, admin
//	user = "carol"                # or group = "vmops"
//	domain = "6695eb01-f6a4-8304-79aa-97f2502e193f"   # or network, storage_pool; "*" = every one
//	name = "vm-carol"             # optional: the name it had when granted
//
// Unknown keys, permissions, object types, roles, users and groups are
// errors naming the file and line (Error).
//
// # Semantics
//
// A grant allows the role's permissions of the object's type on that
// object (matched on the UUID libvirt passes to polkit, never the name),
// and the role's connect permissions. Rendered rules only ever answer YES
// or pass (NOT_HANDLED): roles grant, they never deny, so polkit's other
// rules and the actions' defaults decide everything roles do not grant.
package roles
