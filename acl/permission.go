// SPDX-License-Identifier: Apache-2.0

package acl

import (
	"fmt"
	"strings"
)

// ActionPrefix starts the polkit action id of every libvirt permission.
const ActionPrefix = "org.libvirt.api."

// Permission is one permission of one object type, such as domain's start.
// Permissions come only from this package (ParsePermission, ParseAction,
// ObjectType.Permissions), so a Permission always belongs to its object type.
// The zero value is invalid. Permissions are comparable and usable as map
// keys.
type Permission struct {
	obj ObjectType
	idx uint8
}

// Permissions returns all permissions of all object types.
func Permissions() []Permission {
	var all []Permission
	for _, t := range Types() {
		all = append(all, t.Permissions()...)
	}
	return all
}

// Valid reports whether p is a permission of the model (not the zero value).
func (p Permission) Valid() bool {
	return p.obj.Valid() && int(p.idx) < len(p.obj.def().perms)
}

func (p Permission) def() permDef {
	if !p.Valid() {
		return permDef{name: "invalid"}
	}
	return p.obj.def().perms[p.idx]
}

// Object returns the object type the permission belongs to.
func (p Permission) Object() ObjectType { return p.obj }

// Name returns libvirt's name of the permission, such as "search_domains".
func (p Permission) Name() string { return p.def().name }

// String returns the permission as libvirt's ACL annotations write it, such
// as "domain:start".
func (p Permission) String() string { return p.obj.String() + ":" + p.Name() }

// Description returns the short human description, such as "Start domain".
func (p Permission) Description() string { return p.def().desc }

// Message returns the text polkit shows when asking for authorization.
func (p Permission) Message() string { return p.def().message }

// Anonymous reports whether libvirt lets anyone use the permission without
// authorization (its polkit defaults are "yes").
func (p Permission) Anonymous() bool { return p.def().anonymous }

// ActionID returns the polkit action id, such as
// "org.libvirt.api.storage-pool.search-storage-vols".
func (p Permission) ActionID() string {
	return ActionPrefix + p.obj.PolkitName() + "." + dashed(p.Name())
}

// ParsePermission parses a permission of type t in either spelling
// ("search_domains" or "search-domains").
func ParsePermission(t ObjectType, s string) (Permission, error) {
	if !t.Valid() {
		return Permission{}, fmt.Errorf("permission %q: invalid object type %d", s, t)
	}
	// Not over Permissions(), nor undashed, which allocate: every call
	// names one.
	perms := t.def().perms
	for i := range perms {
		if sameName(perms[i].name, s) {
			return Permission{obj: t, idx: uint8(i)}, nil
		}
	}
	names := make([]string, 0, len(perms))
	for _, d := range perms {
		names = append(names, d.name)
	}
	return Permission{}, fmt.Errorf("unknown permission %q for %s (valid: %s)", s, t, strings.Join(names, ", "))
}

// ParseAction parses a libvirt polkit action id such as
// "org.libvirt.api.domain.start".
func ParseAction(id string) (Permission, error) {
	rest, ok := strings.CutPrefix(id, ActionPrefix)
	obj, perm, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(rest, "_") {
		return Permission{}, fmt.Errorf("malformed libvirt action id %q (want %s<object>.<permission>)", id, ActionPrefix)
	}
	t, err := ParseObjectType(obj)
	if err != nil {
		return Permission{}, fmt.Errorf("action %q: %w", id, err)
	}
	p, err := ParsePermission(t, perm)
	if err != nil {
		return Permission{}, fmt.Errorf("action %q: %w", id, err)
	}
	return p, nil
}
