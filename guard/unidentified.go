// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"reflect"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// A list entry, or the object of an event, that the guard cannot build
// an object of (a secret of a usage type libvirt 9.0.0 does not have,
// an interface libvirtd lists with an empty MAC, an entry gone since
// libvirtd listed it) is left out, never shown: it cannot be decided.
// It is not left out silently: the guard logs it (rate-limited) and
// records it, a denial with reason=unidentified that names the entry as
// libvirtd listed it (a volume with its pool, a network port with its
// network): a list entry in a record of its own, beside the list's,
// which counts it as hidden; an event in the event's record, a list of
// one hidden (eventdrops.go).

// unidentified is a list entry left out, and why.
type unidentified struct {
	entry any
	cause error
}

// reasonUnidentified is the reason of the record of an entry, or an
// event, left out because the guard could not identify its object.
const reasonUnidentified = "unidentified"

// entryKeys names, by object type, the polkit detail the record of an
// entry left out gives its name (or UUID, or port device) under.
var entryKeys = map[acl.ObjectType]string{
	acl.Domain:          "domain_name",
	acl.Network:         "network_name",
	acl.NetworkPort:     "port_uuid",
	acl.StoragePool:     "pool_name",
	acl.StorageVol:      "vol_name",
	acl.NWFilter:        "nwfilter_name",
	acl.NWFilterBinding: "nwfilter_binding_portdev",
	acl.Secret:          "secret_uuid",
	acl.Interface:       "interface_name",
	acl.NodeDevice:      "node_device_name",
}

// entryName is what libvirtd named the entry v by: a plain name, or the
// Name, Portdev or UUID of the protocol struct; "" if none of these.
func entryName(v any) string {
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.String:
		return rv.String()
	case rv.Kind() != reflect.Struct:
		return ""
	}
	for _, f := range []string{"Name", "Portdev"} {
		if fv := rv.FieldByName(f); fv.IsValid() && fv.Kind() == reflect.String {
			return fv.String()
		}
	}
	if fv := rv.FieldByName("UUID"); fv.IsValid() {
		if u, ok := fv.Interface().([16]byte); ok {
			return uuidString(u)
		}
	}
	return ""
}

// entryDetails are the details that name the entry v of a list of
// perm's object type, in the record of its being left out: its name,
// and before it what it lives in, since its name is only its name
// there: a volume's pool, a network port's network (its name when
// libvirtd gave one, and UUID), in the order of their own records.
func entryDetails(perm acl.Permission, v any) []audit.Detail {
	name := entryName(v)
	if !perm.Valid() || name == "" {
		return nil
	}
	d := []audit.Detail{{Key: entryKeys[perm.Object()], Value: name}}
	switch e := v.(type) {
	case proto.RemoteNonnullStorageVol:
		return append([]audit.Detail{{Key: "pool_name", Value: e.Pool}}, d...)
	case proto.RemoteNonnullNetworkPort:
		net := []audit.Detail{{Key: "network_uuid", Value: uuidString(e.Net.UUID)}}
		if e.Net.Name != "" {
			net = append([]audit.Detail{{Key: "network_name", Value: e.Net.Name}}, net...)
		}
		return append(net, d...)
	}
	return d
}

// auditUnidentified logs (rate-limited) and records that the entry v of
// the list p, of perm's object type, was left out because the guard
// could not identify it (cause). An error means the record was not
// written: at audit level required the list is then refused.
func (c *checker) auditUnidentified(ctx context.Context, p *proto.Procedure, perm acl.Permission, v any, cause error) error {
	origin := originOf(p)
	c.warn("list entry left out", origin, fmt.Errorf("%s %q: %w", perm.Object(), entryName(v), cause))
	err := c.writeRecord(ctx, origin, perm, access.Decision{Driver: FrontEnd}, reasonUnidentified, entryDetails(perm, v))
	if err != nil {
		return fmt.Errorf("auditing a list entry left out: %w", err)
	}
	return nil
}
