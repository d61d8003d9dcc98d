// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// fresh stands for a random UUID in the expected details.
const fresh = "<fresh>"

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestObjectFromXML(t *testing.T) {
	const u = "a0000000-0000-4000-8000-00000000000a"
	tests := []struct {
		name  string
		args  proto.Message
		t     acl.ObjectType
		attrs map[string]string // nil: refused
	}{
		{"domain", &proto.RemoteDomainDefineXMLArgs{XML: "<domain type='qemu'><name>a</name><uuid>A0000000-0000-4000-8000-00000000000A</uuid></domain>"},
			acl.Domain, map[string]string{"domain_name": "a", "domain_uuid": u}},
		{"domain: first name, spaced uuid", &proto.RemoteDomainCreateXMLArgs{XMLDesc: "<domain><name>a</name><uuid>a00000000000400080000000 0000000a</uuid><name>b</name></domain>"},
			acl.Domain, map[string]string{"domain_name": "a", "domain_uuid": u}},
		{"domain: nested and namespaced names ignored", &proto.RemoteDomainDefineXMLFlagsArgs{XML: "<domain><devices><name>x</name></devices><x:name xmlns:x='u'>b</x:name><name>a</name><uuid>" + u + "</uuid></domain>"},
			acl.Domain, map[string]string{"domain_name": "a", "domain_uuid": u}},
		{"domain: the name is all the text inside <name>", &proto.RemoteDomainDefineXMLArgs{XML: "<domain><name>a<b>c<x:y xmlns:x='u'>d</x:y></b></name><uuid>" + u + "</uuid></domain>"},
			acl.Domain, map[string]string{"domain_name": "acd", "domain_uuid": u}},
		{"domain without uuid: new", &proto.RemoteDomainDefineXMLArgs{XML: "<domain><name>a</name></domain>"},
			acl.Domain, map[string]string{"domain_name": "a", "domain_uuid": fresh}},
		{"domain: wrong root", &proto.RemoteDomainDefineXMLArgs{XML: "<network><name>a</name><uuid>" + u + "</uuid></network>"}, acl.Domain, nil},
		{"domain: bad uuid", &proto.RemoteDomainDefineXMLArgs{XML: "<domain><name>a</name><uuid>xyz</uuid></domain>"}, acl.Domain, nil},
		{"domain: no name", &proto.RemoteDomainDefineXMLArgs{XML: "<domain><uuid>" + u + "</uuid></domain>"}, acl.Domain, nil},
		{"domain: truncated", &proto.RemoteDomainDefineXMLArgs{XML: "<domain><name>a"}, acl.Domain, nil},
		{"network define", &proto.RemoteNetworkDefineXMLArgs{XML: "<network><name>n</name><uuid>" + u + "</uuid></network>"},
			acl.Network, map[string]string{"network_name": "n", "network_uuid": u}},
		{"network define flags, new", &proto.RemoteNetworkDefineXMLFlagsArgs{XML: "<network><name>n</name></network>"},
			acl.Network, map[string]string{"network_name": "n", "network_uuid": fresh}},
		{"network create", &proto.RemoteNetworkCreateXMLArgs{XML: "<network><name>n</name><uuid>" + u + "</uuid></network>"},
			acl.Network, map[string]string{"network_name": "n", "network_uuid": u}},
		{"network create flags", &proto.RemoteNetworkCreateXMLFlagsArgs{XML: "<network><name>n</name><uuid>" + u + "</uuid></network>"},
			acl.Network, map[string]string{"network_name": "n", "network_uuid": u}},
		{"network: a domain's XML", &proto.RemoteNetworkDefineXMLArgs{XML: "<domain><name>n</name></domain>"}, acl.Network, nil},
		{"pool define", &proto.RemoteStoragePoolDefineXMLArgs{XML: "<pool type='dir'><name>p</name><uuid>" + u + "</uuid><target><path>/x</path></target></pool>"},
			acl.StoragePool, map[string]string{"pool_name": "p", "pool_uuid": u}},
		{"pool create, new", &proto.RemoteStoragePoolCreateXMLArgs{XML: "<pool type='dir'><name>p</name></pool>"},
			acl.StoragePool, map[string]string{"pool_name": "p", "pool_uuid": fresh}},
		{"nwfilter: name attribute", &proto.RemoteNwfilterDefineXMLArgs{XML: "<filter name='f' chain='root'><uuid>" + u + "</uuid><name>g</name></filter>"},
			acl.NWFilter, map[string]string{"nwfilter_name": "f", "nwfilter_uuid": u}},
		{"nwfilter flags, new", &proto.RemoteNwfilterDefineXMLFlagsArgs{XML: "<filter name='f'/>"},
			acl.NWFilter, map[string]string{"nwfilter_name": "f", "nwfilter_uuid": fresh}},
		{"nwfilter without name", &proto.RemoteNwfilterDefineXMLArgs{XML: "<filter><uuid>" + u + "</uuid></filter>"}, acl.NWFilter, nil},
		{"secret, volume usage", &proto.RemoteSecretDefineXMLArgs{XML: "<secret><uuid>" + u + "</uuid><usage type='volume'><volume>/v</volume></usage></secret>"},
			acl.Secret, map[string]string{"secret_uuid": u, "secret_usage_volume": "/v"}},
		{"secret, ceph usage", &proto.RemoteSecretDefineXMLArgs{XML: "<secret><uuid>" + u + "</uuid><usage type='ceph'><name>c</name></usage></secret>"},
			acl.Secret, map[string]string{"secret_uuid": u, "secret_usage_ceph": "c"}},
		{"secret, iscsi usage", &proto.RemoteSecretDefineXMLArgs{XML: "<secret><uuid>" + u + "</uuid><usage type='iscsi'><target>t</target></usage></secret>"},
			acl.Secret, map[string]string{"secret_uuid": u, "secret_usage_target": "t"}},
		{"secret, tls usage", &proto.RemoteSecretDefineXMLArgs{XML: "<secret><uuid>" + u + "</uuid><usage type='tls'><name>t</name></usage></secret>"},
			acl.Secret, map[string]string{"secret_uuid": u, "secret_usage_name": "t"}},
		{"secret, vtpm usage: no detail", &proto.RemoteSecretDefineXMLArgs{XML: "<secret><uuid>" + u + "</uuid><usage type='vtpm'><name>t</name></usage></secret>"},
			acl.Secret, map[string]string{"secret_uuid": u}},
		{"secret, no usage, new", &proto.RemoteSecretDefineXMLArgs{XML: "<secret ephemeral='no'/>"},
			acl.Secret, map[string]string{"secret_uuid": fresh}},
		{"secret, unknown usage", &proto.RemoteSecretDefineXMLArgs{XML: "<secret><usage type='x'><name>t</name></usage></secret>"}, acl.Secret, nil},
		{"secret, usage without id", &proto.RemoteSecretDefineXMLArgs{XML: "<secret><usage type='ceph'/></secret>"}, acl.Secret, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perm, err := acl.ParsePermission(tt.t, "write")
			if err != nil {
				t.Fatal(err)
			}
			o := newObjects(noLookups{}, "QEMU")
			obj, err := o.fromArgs(t.Context(), perm, tt.args)
			if tt.attrs == nil {
				if !errors.Is(err, errUnsupported) {
					t.Errorf("got %v, %v; want refused", obj, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := details(obj)
			for k, v := range tt.attrs {
				if v == fresh && uuidRE.MatchString(got[k]) {
					got[k] = fresh
				}
			}
			want := maps.Clone(tt.attrs)
			want["connect_driver"] = "QEMU"
			if obj.Type() != tt.t || !maps.Equal(got, want) {
				t.Errorf("got %s %v, want %s %v", obj.Type(), got, tt.t, want)
			}
			// The save and start rules of the same call see the same object.
			again, err := o.fromArgs(t.Context(), perm, tt.args)
			if err != nil || !maps.Equal(details(again), details(obj)) {
				t.Errorf("second rule: %v %v, want %v", again, err, obj)
			}
		})
	}
}

func details(obj acl.Object) map[string]string {
	m := map[string]string{}
	for _, d := range obj.Details() {
		m[d.Key] = d.Value
	}
	return m
}

// FuzzObjectFromXML: whatever XML a client sends, identifying its object
// never panics, and either fails as a refusal or yields a valid object of
// the type asked for.
func FuzzObjectFromXML(f *testing.F) {
	for _, s := range []string{
		"<domain><name>a</name><uuid>a0000000-0000-4000-8000-00000000000a</uuid></domain>",
		"<network><name>n</name></network>", "<pool type='dir'><name>p</name></pool>",
		"<secret><usage type='volume'><volume>/v</volume></usage></secret>", "<filter name='f'/>",
		"<domain><x:name xmlns:x='u'>b</x:name><name>a<b>c</b></name></domain>",
		"<volume><name>v</name><key>/k</key><capacity>1</capacity></volume>",
		"<filterbinding><portdev name='vnet0'/><linkdev name='e'/><owner><name>vm</name><uuid>a0000000-0000-4000-8000-00000000000a</uuid></owner><mac address='52:54:00:00:00:01'/><filterref filter='f'/></filterbinding>",
		"<interface type='ethernet' name='eth0'><mac address='52:54:00:00:00:01'/></interface>",
		"<device><name>x</name><parent>p</parent><capability type='mdev'/></device>",
		"<domain/><domain/>", "<domain type='a' type='b'/>", "<?xml version='1.0' encoding='ISO-8859-1'?><domain/>",
		"<!DOCTYPE domain [<!ENTITY n 'x'>]><domain><name>&n;</name></domain>", "<x:domain xmlns:x='u'/>",
	} {
		f.Add(s)
	}
	types := []acl.ObjectType{acl.Domain, acl.Network, acl.StoragePool, acl.Secret, acl.NWFilter,
		acl.NWFilterBinding, acl.Interface, acl.NodeDevice}
	f.Fuzz(func(t *testing.T, doc string) {
		for _, typ := range types {
			obj, err := newObjects(noLookups{}, "QEMU").fromXML(typ, doc)
			checkFuzzedObject(t, typ, obj, err)
		}
		obj, err := newObjects(namedByUUID{}, "QEMU").volumeFromXML(t.Context(), proto.RemoteNonnullStoragePool{Name: "p"}, doc)
		checkFuzzedObject(t, acl.StorageVol, obj, err)
	})
}

// checkFuzzedObject: a refusal (libvirt's own error or not), or a valid
// object of type typ.
func checkFuzzedObject(t *testing.T, typ acl.ObjectType, obj acl.Object, err error) {
	t.Helper()
	if err != nil {
		var de *docError
		if !errors.Is(err, errUnsupported) || errors.As(err, &de) && de.body().Message == nil {
			t.Fatalf("%s: error %v is not a refusal", typ, err)
		}
		return
	}
	if !obj.Valid() || obj.Type() != typ {
		t.Fatalf("%s: object %v", typ, obj)
	}
}

// namedByUUID answers the guard's network and pool lookups by UUID
// with network "n1" and pool "p1" of that UUID, and nothing else.
type namedByUUID struct{}

func (namedByUUID) call(_ context.Context, num proto.RemoteProcedure, args, ret proto.Message) error {
	switch num {
	case proto.RemoteProcNetworkLookupByUUID:
		ret.(*proto.RemoteNetworkLookupByUUIDRet).Net = proto.RemoteNonnullNetwork{Name: "n1",
			UUID: args.(*proto.RemoteNetworkLookupByUUIDArgs).UUID}
	case proto.RemoteProcStoragePoolLookupByUUID:
		ret.(*proto.RemoteStoragePoolLookupByUUIDRet).Pool = proto.RemoteNonnullStoragePool{Name: "p1",
			UUID: args.(*proto.RemoteStoragePoolLookupByUUIDArgs).UUID}
	default:
		return fmt.Errorf("unexpected lookup %d", num)
	}
	return nil
}

func TestNetworkPortFromXML(t *testing.T) {
	const u = "b0000000-0000-4000-8000-00000000000b"
	net := proto.RemoteNonnullNetwork{Name: "forged", UUID: uuidA}
	perm, err := acl.ParsePermission(acl.NetworkPort, "create")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, xml string
		want      map[string]string // nil: refused
	}{
		{"port", "<networkport><uuid>" + u + "</uuid><owner><uuid>" + u + "</uuid></owner></networkport>",
			map[string]string{"connect_driver": "QEMU", "network_name": "n1", "network_uuid": uuidString(uuidA), "port_uuid": u}},
		{"no uuid: libvirt refuses it too", "<networkport><owner><uuid>" + u + "</uuid></owner></networkport>", nil},
		{"another root", "<network><uuid>" + u + "</uuid></network>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := newObjects(namedByUUID{}, "QEMU").fromArgs(t.Context(), perm,
				&proto.RemoteNetworkPortCreateXMLArgs{Network: net, XML: tt.xml})
			if tt.want == nil {
				if !errors.Is(err, errUnsupported) {
					t.Errorf("got %v, %v; want refused", obj, err)
				}
				return
			}
			if err != nil || !maps.Equal(details(obj), tt.want) {
				t.Errorf("got %v %v, want %v", details(obj), err, tt.want)
			}
		})
	}
}

func TestReadXMLRefusesDeepNesting(t *testing.T) {
	doc := "<network>" + strings.Repeat("<a>", xmlRefuseDepth) + strings.Repeat("</a>", xmlRefuseDepth) + "</network>"
	if _, err := readXML(doc, xmlKinds[acl.Network]); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("readXML of %d levels = %v, want a refusal", xmlRefuseDepth+1, err)
	}
}
