// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
)

// targetFlags name a libvirt object by name (resolved through libvirtd)
// or UUID.
type targetFlags struct {
	name, uuid, uri *string
	all, isNew      *bool
}

func addTargetFlags(fs *flag.FlagSet) targetFlags {
	return targetFlags{
		name:  fs.String("name", "", "the object's name, resolved to its UUID through libvirtd (--uri)"),
		uuid:  fs.String("uuid", "", "the object's UUID"),
		uri:   fs.String("uri", "qemu:///system", "libvirt URI used to resolve --name"),
		all:   fs.Bool("all", false, "every object of the type (grant and revoke)"),
		isNew: fs.Bool("new", false, "each new domain the grantee creates through the guard (grant and revoke: a create grant)"),
	}
}

// virshUUID returns the virsh command printing the UUID of an object of
// type t.
func virshUUID(t acl.ObjectType) string {
	switch t {
	case acl.Network:
		return "net-uuid"
	case acl.StoragePool:
		return "pool-uuid"
	}
	return "domuuid"
}

// object returns the object of type typ the flags name; name is the name
// given or resolved, for the record.
func (f targetFlags) object(typ string) (roles.Object, string, error) {
	t, err := acl.ParseObjectType(typ)
	if err != nil {
		return roles.Object{}, "", err
	}
	if _, ok := roles.UUIDKey(t); !ok {
		return roles.Object{}, "", fmt.Errorf("roles are granted on domains, networks and storage pools, not on %s", t)
	}
	n := 0
	for _, set := range []bool{*f.name != "", *f.uuid != "", *f.all, *f.isNew} {
		if set {
			n++
		}
	}
	if n != 1 {
		return roles.Object{}, "", errors.New("name the object with exactly one of --name, --uuid, --all and --new")
	}
	switch {
	case *f.isNew && t != acl.Domain:
		return roles.Object{}, "", fmt.Errorf("--new: only domains are created by their owners, not %s", t)
	case *f.isNew:
		return roles.Object{Type: t, UUID: roles.New}, "", nil
	case *f.all:
		return roles.Object{Type: t, UUID: roles.Any}, "", nil
	case *f.uuid != "":
		u, err := roles.CanonicalUUID(*f.uuid)
		return roles.Object{Type: t, UUID: u}, "", err
	}
	u, err := resolve(*f.uri, t, *f.name)
	return roles.Object{Type: t, UUID: u}, *f.name, err
}

// resolve asks libvirtd for the UUID of the object of type t named name.
func resolve(uri string, t acl.ObjectType, name string) (string, error) {
	out, err := exec.Command("virsh", "-q", "-c", uri, virshUUID(t), "--", name).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("resolve %s %q through %s: %s", t, name, uri, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("resolve %s %q through %s: %w", t, name, uri, err)
	}
	u, err := roles.CanonicalUUID(strings.TrimSpace(string(out)))
	if err != nil {
		return "", fmt.Errorf("resolve %s %q: virsh printed %w", t, name, err)
	}
	return u, nil
}

// request parses OBJECT PERMISSION for explain: connect permissions take
// no object.
func (f targetFlags) request(typ, permName string) (acl.Permission, string, error) {
	t, err := acl.ParseObjectType(typ)
	if err != nil {
		return acl.Permission{}, "", err
	}
	p, err := acl.ParsePermission(t, permName)
	if err != nil {
		return acl.Permission{}, "", err
	}
	if t == acl.Connect {
		if *f.name != "" || *f.uuid != "" || *f.all {
			return acl.Permission{}, "", errors.New("connect permissions name no object")
		}
		return p, "", nil
	}
	if *f.all {
		return acl.Permission{}, "", errors.New("explain asks about one object: --name or --uuid")
	}
	obj, _, err := f.object(typ)
	return p, obj.UUID, err
}
