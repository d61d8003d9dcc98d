// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// The built-in roles. Their connect permissions are what a client needs to
// reach and list its objects (libvirt lets anyone use them by default, but
// a hand-written rule may not).
const (
	Viewer   = "viewer"
	Operator = "operator"
	Admin    = "admin"
)

var viewerPerms = map[acl.ObjectType][]string{
	acl.Connect:     {"getattr", "read", "search_domains", "search_networks", "search_storage_pools"},
	acl.Domain:      {"getattr", "read"},
	acl.Network:     {"getattr", "read"},
	acl.StoragePool: {"getattr", "read"},
}

// operatorExtra is what an operator may do beyond viewing: run the object,
// and for a domain reset it and open its console (open_device) and
// graphics.
var operatorExtra = map[acl.ObjectType][]string{
	acl.Domain:      {"start", "stop", "reset", "open_device", "open_graphics"},
	acl.Network:     {"start", "stop"},
	acl.StoragePool: {"start", "stop"},
}

// builtins returns fresh copies of the built-in roles. admin has every
// permission of its object's type but only a viewer's connect
// permissions: a grant on one VM must not give the host (connect write,
// pm_control); a custom role can.
func builtins() map[string]*Role {
	viewer := mustPerms(viewerPerms)
	operator := sortPerms(append(append([]acl.Permission(nil), viewer...), mustPerms(operatorExtra)...))
	all := mustPerms(map[acl.ObjectType][]string{acl.Connect: viewerPerms[acl.Connect]})
	for _, t := range roleTypes()[1:] {
		all = append(all, t.Permissions()...)
	}
	return map[string]*Role{
		Viewer:   {Name: Viewer, Builtin: true, Perms: viewer, Description: "see and list the object"},
		Operator: {Name: Operator, Builtin: true, Perms: operator, Description: "viewer, plus start, stop, reset, console and graphics"},
		Admin:    {Name: Admin, Builtin: true, Perms: sortPerms(all), Description: "every permission on the object (host-level connect permissions only as a viewer)"},
	}
}

func mustPerms(m map[acl.ObjectType][]string) []acl.Permission {
	var out []acl.Permission
	for t, names := range m {
		for _, n := range names {
			p, err := acl.ParsePermission(t, n)
			if err != nil {
				panic(fmt.Sprintf("roles: built-in role: %v", err))
			}
			out = append(out, p)
		}
	}
	return sortPerms(out)
}
