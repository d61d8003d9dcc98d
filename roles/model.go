// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"fmt"
	"sort"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// Any, as a grant's object, stands for every object of the type.
const Any = "*"

// New, as a domain grant's object, stands for the domains the grantee
// creates: the grant lets them define new domains through the guard
// (policy.ActionCreateOwn), and the guard grants its role to the creator
// on each one it defines.
const New = "new"

// Pos is where something was written: a file and a 1-based line. Built-in
// roles have no file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.File == "" {
		return "built-in"
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Role is a named set of libvirt permissions.
type Role struct {
	Name        string
	Description string
	Builtin     bool
	// Perms is sorted (object type, then libvirt's order) and has no
	// repeats.
	Perms  []acl.Permission
	Source Pos
}

// Has reports whether the role includes p.
func (r *Role) Has(p acl.Permission) bool {
	for _, q := range r.Perms {
		if q == p {
			return true
		}
	}
	return false
}

// PermsOf returns the role's permissions of type t.
func (r *Role) PermsOf(t acl.ObjectType) []acl.Permission {
	var out []acl.Permission
	for _, p := range r.Perms {
		if p.Object() == t {
			out = append(out, p)
		}
	}
	return out
}

// Subject is who a grant is for: exactly one of User and Group is set.
type Subject struct {
	User  string
	Group string
}

func (s Subject) String() string {
	if s.Group != "" {
		return "group " + s.Group
	}
	return "user " + s.User
}

// Object is what a grant is on: a domain, network or storage pool by
// UUID (lower case), Any, or (domains only) New.
type Object struct {
	Type acl.ObjectType
	UUID string
}

func (o Object) String() string {
	switch o.UUID {
	case Any:
		return "every " + o.Type.String()
	case New:
		return "each new " + o.Type.String() + " they create"
	}
	return o.Type.String() + " " + o.UUID
}

// Grant gives a role to a subject on an object.
type Grant struct {
	Role    string
	Subject Subject
	Object  Object
	// Name is the object's name when it was granted, for people; it is
	// never matched.
	Name   string
	Source Pos
}

// Same reports whether g and o grant the same role to the same subject on
// the same object.
func (g Grant) Same(o Grant) bool {
	return g.Role == o.Role && g.Subject == o.Subject && g.Object == o.Object
}

func (g Grant) String() string {
	s := fmt.Sprintf("%s to %s on %s", g.Role, g.Subject, g.Object)
	if g.Name != "" {
		s += fmt.Sprintf(" (%s)", g.Name)
	}
	return s
}

// Creates reports whether g lets its subject create domains (New).
func (g Grant) Creates() bool { return g.Object.UUID == New }

// Source is one file the policy was read from.
type Source struct {
	Path   string
	SHA256 string // hex digest of its contents
}

// Policy is every role and grant, validated.
type Policy struct {
	Roles   map[string]*Role
	Grants  []Grant // in file order
	Sources []Source
}

// RoleNames returns the role names, sorted.
func (p *Policy) RoleNames() []string {
	names := make([]string, 0, len(p.Roles))
	for n := range p.Roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// grantTypes are the object types a grant may name, with the polkit
// detail that carries their UUID (libvirt's viraccessdriverpolkit.c).
var grantTypes = []struct {
	t   acl.ObjectType
	key string
}{
	{acl.Domain, "domain_uuid"},
	{acl.Network, "network_uuid"},
	{acl.StoragePool, "pool_uuid"},
}

// UUIDKey returns the polkit detail holding the UUID of objects of type t,
// and whether t can be granted on.
func UUIDKey(t acl.ObjectType) (string, bool) {
	for _, g := range grantTypes {
		if g.t == t {
			return g.key, true
		}
	}
	return "", false
}

// roleTypes are the object types a role may hold permissions of: the
// grantable ones and connect.
func roleTypes() []acl.ObjectType {
	return []acl.ObjectType{acl.Connect, acl.Domain, acl.Network, acl.StoragePool}
}

func sortPerms(ps []acl.Permission) []acl.Permission {
	seen := make(map[acl.Permission]bool, len(ps))
	out := make([]acl.Permission, 0, len(ps))
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Object() != b.Object() {
			return a.Object() < b.Object()
		}
		return a.Name() < b.Name()
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
