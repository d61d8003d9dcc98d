// SPDX-License-Identifier: Apache-2.0

package acl

import (
	"fmt"
	"strings"
)

// ObjectType is one of libvirt's eleven kinds of access-controlled object.
// The zero value is not a valid type.
type ObjectType uint8

// The object types, in libvirt's order.
const (
	Connect ObjectType = iota + 1
	Domain
	Interface
	Network
	NetworkPort
	NodeDevice
	NWFilter
	NWFilterBinding
	Secret
	StoragePool
	StorageVol
)

// Types returns every object type, in libvirt's order.
func Types() []ObjectType {
	types := make([]ObjectType, 0, len(objectDefs)-1)
	for t := Connect; int(t) < len(objectDefs); t++ {
		types = append(types, t)
	}
	return types
}

// Valid reports whether t is one of the defined object types.
func (t ObjectType) Valid() bool { return t >= Connect && int(t) < len(objectDefs) }

func (t ObjectType) def() *objectDef {
	if !t.Valid() {
		return &objectDef{name: fmt.Sprintf("ObjectType(%d)", t)}
	}
	return &objectDefs[t]
}

// String returns libvirt's name of the type, such as "storage_pool".
func (t ObjectType) String() string { return t.def().name }

// PolkitName returns the type as it appears in polkit action ids, such as
// "storage-pool".
func (t ObjectType) PolkitName() string { return dashed(t.String()) }

// Attrs returns the identity attributes libvirt passes to polkit for objects
// of this type, after connect_driver, in libvirt's order.
func (t ObjectType) Attrs() []Attr { return append([]Attr(nil), t.def().attrs...) }

// Permissions returns the permissions of the type in libvirt's order.
func (t ObjectType) Permissions() []Permission {
	perms := make([]Permission, len(t.def().perms))
	for i := range perms {
		perms[i] = Permission{obj: t, idx: uint8(i)}
	}
	return perms
}

// ParseObjectType parses a type name in either spelling ("storage_pool" or
// "storage-pool").
func ParseObjectType(s string) (ObjectType, error) {
	// Not over Types(), nor undashed, which allocate: a list of 10,000
	// objects parses as many types.
	for t := Connect; t.Valid(); t++ {
		if sameName(t.String(), s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown object type %q (valid: %s)", s, joinNames(Types()))
}

func joinNames[T fmt.Stringer](items []T) string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.String()
	}
	return strings.Join(names, ", ")
}

func dashed(s string) string { return strings.ReplaceAll(s, "_", "-") }

// sameName reports whether s is libvirt's name (with underscores) in
// either spelling, "storage_pool" or "storage-pool".
func sameName(name, s string) bool {
	if len(name) != len(s) {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c == '-' {
			c = '_'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}
