// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/internal/xmldoc"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// This file identifies the objects that exist only once the call that
// creates them succeeds: a storage volume, a network filter binding, an
// interface and a node device. libvirt checks each on the definition it
// parsed from the call's XML, with its polkit driver's details
// (src/access/viraccessdriverpolkit.c); a detail libvirt leaves NULL
// reaches polkit as acl.NullDetail, and the guard sends the same.

// volumeFromXML identifies the volume STORAGE_VOL_CREATE_XML(_FROM)
// creates in pool. libvirt finds the pool by UUID
// (virStoragePoolObjFromStoragePool, virStoragePoolObjFindByUUID), parses
// the volume (virStorageVolDefParse) and checks
// virStorageVolCreateXMLEnsureACL(conn, pooldef, voldef): the pool's name
// and UUID as libvirtd knows them, the volume's name, and the key the XML
// suggests (string(./key), NULL without one). The backend computes the
// real key only after the check and discards the suggested one, so a
// rule that trusts vol_key on create trusts the client's word, in
// libvirtd as through the guard.
func (o *objects) volumeFromXML(ctx context.Context, pool proto.RemoteNonnullStoragePool, doc string) (acl.Object, error) {
	var p proto.RemoteStoragePoolLookupByUUIDRet
	if err := o.up.call(ctx, proto.RemoteProcStoragePoolLookupByUUID, &proto.RemoteStoragePoolLookupByUUIDArgs{UUID: pool.UUID}, &p); err != nil {
		return acl.Object{}, err
	}
	k := xmlKinds[acl.StorageVol]
	e, err := readXML(doc, k)
	if err != nil {
		return acl.Object{}, xmlFailure(acl.StorageVol, err)
	}
	name, _ := childText(e, "name")
	if name == "" {
		return acl.Object{}, xmlContentError(k, "missing volume name element")
	}
	key, _ := childText(e, "key")
	if key == "" {
		key = acl.NullDetail
	}
	obj, err := o.volume(p.Pool, proto.RemoteNonnullStorageVol{Name: name, Key: key})
	return obj, xmlFailure(acl.StorageVol, err)
}

// bindingFromXML identifies the binding NWFILTER_BINDING_CREATE_XML
// creates, as virNWFilterBindingDefParseXML reads it
// (src/conf/virnwfilterbindingdef.c) before nwfilterBindingCreateXML
// checks it: the port device, the link device (NULL without a <linkdev>)
// and the filter. libvirt's refusals of a binding without them are
// answered as libvirt words them, in its order; the owner's UUID and the
// MAC address, which libvirt also parses first, are left to libvirtd.
func (o *objects) bindingFromXML(doc string) (acl.Object, error) {
	k := xmlKinds[acl.NWFilterBinding]
	e, err := readXML(doc, k)
	if err != nil {
		return acl.Object{}, err
	}
	portdev := firstAttr(e, "portdev", "name")
	if portdev == "" {
		return acl.Object{}, internalError(k, "filter binding has no port dev name")
	}
	linkdev := acl.NullDetail
	if e.Child("linkdev") != nil {
		if linkdev = firstAttr(e, "linkdev", "name"); linkdev == "" {
			return acl.Object{}, internalError(k, "filter binding has no link dev name")
		}
	}
	filter := ""
	for _, need := range []struct{ value, missing string }{
		{firstText(e, "owner", "name"), "filter binding has no owner name"},
		{firstText(e, "owner", "uuid"), "filter binding has no owner UUID"},
		{firstAttr(e, "mac", "address"), "filter binding has no MAC address"},
		{firstAttr(e, "filterref", "filter"), "filter binding has no filter reference"},
	} {
		if need.value == "" {
			return acl.Object{}, internalError(k, need.missing)
		}
		filter = need.value
	}
	return o.object(acl.NWFilterBinding, map[string]string{"nwfilter_binding_portdev": portdev,
		"nwfilter_binding_linkdev": linkdev, "nwfilter_binding_filter": filter})
}

// interfaceTypes are the interface types virInterfaceDefParseXML accepts
// at the top level (src/conf/interface_conf.c).
var interfaceTypes = map[string]bool{"ethernet": true, "bridge": true, "bond": true, "vlan": true}

// interfaceFromXML identifies the interface INTERFACE_DEFINE_XML defines
// (netcfInterfaceDefineXML: virInterfaceDefineXMLEnsureACL(conn, def)):
// the name attribute, and the MAC address, which libvirt reads for an
// ethernet interface only (string(./mac/@address), NULL otherwise). A MAC
// libvirt would pass unchecked but that is not six lower-case hex pairs
// is refused.
// The udev backend (Debian's libvirt, built without netcf) defines no
// interfaces at all: libvirtd answers "not supported" to whoever the
// guard lets through.
func (o *objects) interfaceFromXML(doc string) (acl.Object, error) {
	k := xmlKinds[acl.Interface]
	e, err := readXML(doc, k)
	if err != nil {
		return acl.Object{}, err
	}
	typ := attr(e, "type")
	if !interfaceTypes[typ] {
		return acl.Object{}, fmt.Errorf("interface type %q", typ)
	}
	name, ok := e.Attr("name")
	if !ok {
		return acl.Object{}, xmlContentError(k, "interface has no name")
	}
	mac := acl.NullDetail
	if m := firstAttr(e, "mac", "address"); typ == "ethernet" && m != "" {
		// libvirt sends the text as written; acl's MAC form is lower
		// case, so another is refused rather than decided changed.
		if m != strings.ToLower(m) {
			return acl.Object{}, fmt.Errorf("interface MAC address %q is not in lower case", m)
		}
		mac = m
	}
	return o.object(acl.Interface, map[string]string{"interface_name": name, "interface_macaddr": mac})
}

// newNodeDevice is the name libvirt gives every node device it is asked
// to create or define (virNodeDeviceDefParseXML with CREATE_DEVICE), and
// checks access on: the device's real name (an mdev's UUID, a vHBA's
// scsi_hostN) exists only once it is created.
const newNodeDevice = "new device"

// nodeDeviceFromXML identifies the device NODE_DEVICE_CREATE_XML and
// NODE_DEVICE_DEFINE_XML create: always "new device", once the document
// is one libvirt parses.
func (o *objects) nodeDeviceFromXML(doc string) (acl.Object, error) {
	if _, err := readXML(doc, xmlKinds[acl.NodeDevice]); err != nil {
		return acl.Object{}, err
	}
	return o.object(acl.NodeDevice, map[string]string{"node_device_name": newNodeDevice})
}

// firstAttr is string(./child/@attr): the attribute of the first child
// called child that has it.
func firstAttr(e *xmldoc.Element, child, name string) string {
	for _, k := range e.Children {
		if v, ok := k.Attr(name); ok && k.NS == "" && k.Local == child {
			return v
		}
	}
	return ""
}

// firstText is string(./child/grandchild): the text of the first
// grandchild so called, in document order.
func firstText(e *xmldoc.Element, child, grandchild string) string {
	for _, k := range e.Children {
		if k.NS != "" || k.Local != child {
			continue
		}
		if t, ok := childText(k, grandchild); ok {
			return t
		}
	}
	return ""
}
