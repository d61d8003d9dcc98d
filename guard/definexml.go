// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/internal/xmldoc"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// definedXML returns the XML of a call that defines or creates an object
// of type t from XML. libvirt checks such a call on the object it parsed
// from that XML, before it looks for an existing one
// (qemuDomainDefineXMLFlags, networkDefineXMLFlags, storagePoolDefineXML,
// secretDefineXML, nwfilterDefineXMLFlags, nwfilterBindingCreateXML,
// netcfInterfaceDefineXML, nodeDeviceCreateXML, nodeDeviceDefineXML:
// EnsureACL(conn, def)). A volume's XML is read with its pool
// (volumeFromXML).
func definedXML(t acl.ObjectType, args proto.Message) (string, bool) {
	switch a := args.(type) {
	case *proto.RemoteDomainDefineXMLArgs:
		return a.XML, t == acl.Domain
	case *proto.RemoteDomainDefineXMLFlagsArgs:
		return a.XML, t == acl.Domain
	case *proto.RemoteDomainCreateXMLArgs:
		return a.XMLDesc, t == acl.Domain
	case *proto.RemoteDomainCreateXMLWithFilesArgs:
		return a.XMLDesc, t == acl.Domain
	case *proto.RemoteNetworkDefineXMLArgs:
		return a.XML, t == acl.Network
	case *proto.RemoteNetworkDefineXMLFlagsArgs:
		return a.XML, t == acl.Network
	case *proto.RemoteNetworkCreateXMLArgs:
		return a.XML, t == acl.Network
	case *proto.RemoteNetworkCreateXMLFlagsArgs:
		return a.XML, t == acl.Network
	case *proto.RemoteStoragePoolDefineXMLArgs:
		return a.XML, t == acl.StoragePool
	case *proto.RemoteStoragePoolCreateXMLArgs:
		return a.XML, t == acl.StoragePool
	case *proto.RemoteSecretDefineXMLArgs:
		return a.XML, t == acl.Secret
	case *proto.RemoteNwfilterDefineXMLArgs:
		return a.XML, t == acl.NWFilter
	case *proto.RemoteNwfilterDefineXMLFlagsArgs:
		return a.XML, t == acl.NWFilter
	case *proto.RemoteNwfilterBindingCreateXMLArgs:
		return a.XML, t == acl.NWFilterBinding
	case *proto.RemoteInterfaceDefineXMLArgs:
		return a.XML, t == acl.Interface
	case *proto.RemoteNodeDeviceCreateXMLArgs:
		return a.XMLDesc, t == acl.NodeDevice
	case *proto.RemoteNodeDeviceDefineXMLArgs:
		return a.XMLDesc, t == acl.NodeDevice
	}
	return "", false
}

// fromXML identifies the object of type t an XML document defines, by
// the name and UUID libvirt reads from it. A document without a <uuid>
// defines a new object: libvirt gives it a random UUID (virUUIDGenerate)
// before checking access, so no rule can know it; the guard decides on
// the name and a fresh random UUID of its own, which is the same
// question. (If an object of that name exists, libvirt then refuses the
// definition: "already exists with uuid".)
func (o *objects) fromXML(t acl.ObjectType, doc string) (acl.Object, error) {
	obj, err := o.identifyXML(t, doc)
	return obj, xmlFailure(t, err)
}

// xmlFailure makes err a refusal, keeping libvirt's own error for a
// document libvirt refuses too.
func xmlFailure(t acl.ObjectType, err error) error {
	if err == nil {
		return nil
	}
	if de := (*docError)(nil); errors.As(err, &de) {
		return de
	}
	return fmt.Errorf("%w: %s XML: %v", errUnsupported, t, err)
}

func (o *objects) identifyXML(t acl.ObjectType, doc string) (acl.Object, error) {
	switch t {
	case acl.Domain, acl.Network, acl.StoragePool, acl.Secret, acl.NWFilter:
	case acl.NWFilterBinding:
		return o.bindingFromXML(doc)
	case acl.Interface:
		return o.interfaceFromXML(doc)
	case acl.NodeDevice:
		return o.nodeDeviceFromXML(doc)
	default:
		return acl.Object{}, fmt.Errorf("%s objects are not identified from XML", t)
	}
	e, err := readXML(doc, xmlKinds[t])
	if err != nil {
		return acl.Object{}, err
	}
	uuid, err := xmlUUID(e)
	if err != nil {
		return acl.Object{}, err
	}
	if t == acl.Secret {
		return o.secretFromXML(e, uuid)
	}
	var name string
	if t == acl.NWFilter {
		name = attr(e, "name") // <filter name='...'>
	} else {
		// Exactly as libvirt takes it (string(./name[1]), untrimmed), so
		// the name decided on is the name defined.
		name, _ = childText(e, "name")
	}
	if name == "" {
		return acl.Object{}, fmt.Errorf("no name")
	}
	prefix := map[acl.ObjectType]string{acl.Domain: "domain", acl.Network: "network",
		acl.StoragePool: "pool", acl.NWFilter: "nwfilter"}[t]
	return o.object(t, map[string]string{prefix + "_name": name, prefix + "_uuid": uuid})
}

// xmlUUID returns the canonical form of e's <uuid>, or a fresh random
// UUID when it has none.
func xmlUUID(e *xmldoc.Element) (string, error) {
	text, ok := childText(e, "uuid")
	if !ok {
		return randomUUID(), nil
	}
	return canonicalUUID(text)
}

// randomUUID returns a fresh random UUID, as virUUIDGenerate makes them.
func randomUUID() string {
	var u [16]byte
	rand.Read(u[:])         // never fails (crypto/rand, Go 1.24)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80
	return uuidString(u)
}

// secretUsageTypes are the usage types of <usage type='...'>
// (src/conf/secret_conf.c, include/libvirt/libvirt-secret.h), with the
// element that holds each one's usage id.
var secretUsageTypes = map[string]struct {
	num  int32
	elem string
}{
	"volume": {1, "volume"},
	"ceph":   {2, "name"},
	"iscsi":  {3, "target"},
	"tls":    {4, "name"},
	"vtpm":   {5, "name"},
}

func (o *objects) secretFromXML(e *xmldoc.Element, uuid string) (acl.Object, error) {
	u, err := parseUUID(uuid)
	if err != nil {
		return acl.Object{}, err
	}
	s := proto.RemoteNonnullSecret{UUID: u}
	if usage := e.Child("usage"); usage != nil {
		typ, ok := secretUsageTypes[attr(usage, "type")]
		if !ok {
			return acl.Object{}, fmt.Errorf("secret usage type %q", attr(usage, "type"))
		}
		id, ok := childText(usage, typ.elem)
		if !ok || id == "" {
			return acl.Object{}, fmt.Errorf("secret usage %q without <%s>", attr(usage, "type"), typ.elem)
		}
		s.UsageType, s.UsageID = typ.num, id
	}
	return o.secret(s)
}

// parseUUID parses a UUID in canonical form.
func parseUUID(s string) ([16]byte, error) {
	var u [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != len(u) {
		return u, fmt.Errorf("malformed uuid %q", s)
	}
	copy(u[:], b)
	return u, nil
}

// networkPortFromXML identifies the port NETWORK_PORT_CREATE_XML creates:
// on the network the call names by UUID (as libvirtd reports it), with
// the port's UUID from the XML, which libvirt requires
// (virNetworkPortDefParseXML: "network port has no uuid").
func (o *objects) networkPortFromXML(ctx context.Context, a *proto.RemoteNetworkPortCreateXMLArgs) (acl.Object, error) {
	e, err := readXML(a.XML, xmlKinds[acl.NetworkPort])
	if err != nil {
		return acl.Object{}, xmlFailure(acl.NetworkPort, err)
	}
	text, ok := childText(e, "uuid")
	if !ok {
		return acl.Object{}, fmt.Errorf("%w: network port XML: no <uuid>", errUnsupported)
	}
	port, err := canonicalUUID(text)
	if err != nil {
		return acl.Object{}, fmt.Errorf("%w: network port XML: %v", errUnsupported, err)
	}
	var n proto.RemoteNetworkLookupByUUIDRet
	if err := o.up.call(ctx, proto.RemoteProcNetworkLookupByUUID, &proto.RemoteNetworkLookupByUUIDArgs{UUID: a.Network.UUID}, &n); err != nil {
		return acl.Object{}, err
	}
	return o.object(acl.NetworkPort, map[string]string{"network_name": n.Net.Name,
		"network_uuid": uuidString(n.Net.UUID), "port_uuid": port})
}
