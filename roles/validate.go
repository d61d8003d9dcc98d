// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// Accounts says whether users and groups exist. System looks them up on
// the host; tests pass their own.
type Accounts interface {
	LookupUser(name string) error
	LookupGroup(name string) error
}

// build validates decoded files, in order, into a Policy.
func build(files []*decoded, accts Accounts) (*Policy, error) {
	pol := &Policy{Roles: builtins()}
	for _, d := range files {
		if err := addRoles(pol, d); err != nil {
			return nil, err
		}
	}
	for _, d := range files {
		for i, g := range d.doc.Grant {
			gr, err := makeGrant(pol, d, "grant."+strconv.Itoa(i), g, accts)
			if err != nil {
				return nil, err
			}
			pol.Grants = append(pol.Grants, gr)
		}
	}
	return pol, nil
}

func addRoles(pol *Policy, d *decoded) error {
	for _, name := range sortedKeys(d.doc.Role) {
		table := "role." + name
		if old, dup := pol.Roles[name]; dup {
			return d.errorf(table, "", "role %q is already defined (%s)", name, old.Source)
		}
		if !validName(name) {
			return d.errorf(table, "", "role name %q: use a letter, then letters, digits, '-' and '_'", name)
		}
		r, err := makeRole(d, table, name, d.doc.Role[name])
		if err != nil {
			return err
		}
		pol.Roles[name] = r
	}
	return nil
}

func makeRole(d *decoded, table, name string, doc roleDoc) (*Role, error) {
	r := &Role{Name: name, Description: doc.Description, Source: Pos{d.file, d.line(table, "")}}
	lists := []struct {
		t     acl.ObjectType
		key   string
		names []string
	}{
		{acl.Connect, "connect", doc.Connect},
		{acl.Domain, "domain", doc.Domain},
		{acl.Network, "network", doc.Network},
		{acl.StoragePool, "storage_pool", doc.StoragePool},
	}
	for _, l := range lists {
		for _, n := range l.names {
			if n == Any {
				r.Perms = append(r.Perms, l.t.Permissions()...)
				continue
			}
			p, err := acl.ParsePermission(l.t, n)
			if err != nil {
				return nil, d.errorf(table, l.key, "role %q: %v", name, err)
			}
			r.Perms = append(r.Perms, p)
		}
	}
	if len(r.Perms) == 0 {
		return nil, d.errorf(table, "", "role %q has no permissions", name)
	}
	r.Perms = sortPerms(r.Perms)
	return r, nil
}

func makeGrant(pol *Policy, d *decoded, table string, g grantDoc, accts Accounts) (Grant, error) {
	gr := Grant{Role: g.Role, Name: g.Name, Source: Pos{d.file, d.line(table, "")}}
	if _, ok := pol.Roles[g.Role]; !ok {
		return gr, d.errorf(table, "role", "unknown role %q (defined: %s)", g.Role, strings.Join(pol.RoleNames(), ", "))
	}
	sub, err := grantSubject(d, table, g, accts)
	if err != nil {
		return gr, err
	}
	obj, err := grantObject(d, table, g)
	if err != nil {
		return gr, err
	}
	if obj.UUID == New && len(pol.Roles[g.Role].PermsOf(acl.Domain)) == 0 {
		return gr, d.errorf(table, "role", "role %q has no domain permissions: whoever creates a domain would own nothing of it", g.Role)
	}
	gr.Subject, gr.Object = sub, obj
	return gr, nil
}

func grantSubject(d *decoded, table string, g grantDoc, accts Accounts) (Subject, error) {
	switch {
	case (g.User == "") == (g.Group == ""):
		return Subject{}, d.errorf(table, "", "a grant names exactly one of user and group")
	case g.User != "":
		if err := accts.LookupUser(g.User); err != nil {
			return Subject{}, d.errorf(table, "user", "unknown user %q: %v", g.User, err)
		}
	default:
		if err := accts.LookupGroup(g.Group); err != nil {
			return Subject{}, d.errorf(table, "group", "unknown group %q: %v", g.Group, err)
		}
	}
	return Subject{User: g.User, Group: g.Group}, nil
}

func grantObject(d *decoded, table string, g grantDoc) (Object, error) {
	var objs []Object
	var key string
	for _, c := range []struct {
		t   acl.ObjectType
		key string
		v   string
	}{{acl.Domain, "domain", g.Domain}, {acl.Network, "network", g.Network}, {acl.StoragePool, "storage_pool", g.StoragePool}} {
		if c.v != "" {
			objs = append(objs, Object{Type: c.t, UUID: c.v})
			key = c.key
		}
	}
	if len(objs) != 1 {
		return Object{}, d.errorf(table, "", "a grant names exactly one object: domain, network or storage_pool (a UUID, %q for every one, or for a domain %q for those the grantee creates)", Any, New)
	}
	o := objs[0]
	if o.UUID == New && o.Type != acl.Domain {
		return Object{}, d.errorf(table, key, "%s = %q: only domains are created by their owners", key, New)
	}
	if o.UUID != Any && o.UUID != New {
		u, err := CanonicalUUID(o.UUID)
		if err != nil {
			return Object{}, d.errorf(table, key, "%s: %v", key, err)
		}
		o.UUID = u
	}
	return o, nil
}

// CanonicalUUID returns s in the lower-case form libvirt passes to
// polkit, or an error when s is not a UUID.
func CanonicalUUID(s string) (string, error) {
	obj, err := acl.NewObject(acl.Domain, "QEMU", map[string]string{"domain_name": "x", "domain_uuid": s})
	if err != nil {
		return "", fmt.Errorf("malformed UUID %q (want 8-4-4-4-12 hex digits)", s)
	}
	return obj.UUID(), nil
}

// validName accepts a letter, then letters, digits, '-' and '_': safe as a
// JavaScript property name (no "__proto__") and on a command line.
func validName(s string) bool {
	if s == "" || len(s) > 64 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
