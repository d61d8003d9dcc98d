// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// refusal is what a test expects instead of an object: libvirt's own
// error for the document (code, domain, message), or, with code 0, a
// plain refusal (access denied).
type refusal struct {
	code, domain int32
	msg          string
}

func TestCreatedObjectFromXML(t *testing.T) {
	pool := proto.RemoteNonnullStoragePool{Name: "forged", UUID: uuidA}
	vol := func(doc string) proto.Message { return &proto.RemoteStorageVolCreateXMLArgs{Pool: pool, XML: doc} }
	binding := func(inner string) proto.Message {
		return &proto.RemoteNwfilterBindingCreateXMLArgs{XML: "<filterbinding>" + inner + "</filterbinding>"}
	}
	const owner = "<owner><name>vm</name><uuid>a0000000-0000-4000-8000-00000000000a</uuid></owner><mac address='52:54:00:00:00:01'/>"
	p1 := map[string]string{"pool_name": "p1", "pool_uuid": uuidString(uuidA)}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		perm  string // "type:permission"
		args  proto.Message
		attrs map[string]string // the object's details, without connect_driver
		err   refusal           // when attrs is nil
	}{
		{"volume: pool as libvirtd names it, no key", "storage_vol:create", vol("<volume><name>v.img</name><capacity>1</capacity></volume>"),
			with(p1, "vol_name", "v.img", "vol_key", acl.NullDetail), refusal{}},
		{"volume: the key the client suggests", "storage_vol:create", vol("<volume><name>v</name><key>/k</key></volume>"),
			with(p1, "vol_name", "v", "vol_key", "/k"), refusal{}},
		{"volume: empty key is none", "storage_vol:create", vol("<volume><name>v</name><key></key></volume>"),
			with(p1, "vol_name", "v", "vol_key", acl.NullDetail), refusal{}},
		{"volume: name is all the text inside <name>", "storage_vol:create", vol("<volume><name>v<b>w<c>x</c></b><!-- c -->&#121;</name></volume>"),
			with(p1, "vol_name", "vwxy", "vol_key", acl.NullDetail), refusal{}},
		{"volume from", "storage_vol:create", &proto.RemoteStorageVolCreateXMLFromArgs{Pool: pool, XML: "<volume><name>c</name></volume>",
			Clonevol: proto.RemoteNonnullStorageVol{Pool: "other", Name: "src", Key: "/src"}},
			with(p1, "vol_name", "c", "vol_key", acl.NullDetail), refusal{}},
		{"volume: no name", "storage_vol:create", vol("<volume><name></name></volume>"),
			nil, refusal{errXML, 18, "XML error: missing volume name element"}},
		{"volume: another root", "storage_vol:create", vol("<pool><name>v</name></pool>"),
			nil, refusal{errXML, fromXMLParser, "XML error: expecting root element of 'volume', not 'pool'"}},
		{"volume: tab in name", "storage_vol:create", vol("<volume><name>a&#x9;b</name></volume>"), nil, refusal{}},
		{"volume: a character XML forbids", "storage_vol:create", vol("<volume><name>a&#x1b;b</name></volume>"),
			nil, refusal{errXMLDetail, 18, "(storage_volume_definition):1: illegal character code U+001B\n<volume><name>a&#x1b;b</name></volume>\n----------------------^"}},
		{"binding", "nwfilter_binding:create", binding("<portdev name='vnet0'/>" + owner + "<filterref filter='clean-traffic'/>"),
			map[string]string{"nwfilter_binding_portdev": "vnet0", "nwfilter_binding_linkdev": acl.NullDetail,
				"nwfilter_binding_filter": "clean-traffic"}, refusal{}},
		{"binding with linkdev, first named portdev", "nwfilter_binding:create",
			binding("<portdev/><portdev name='vnet1'/><linkdev name='eth0'/>" + owner + "<filterref filter='f'><parameter name='IP' value='1.2.3.4'/></filterref>"),
			map[string]string{"nwfilter_binding_portdev": "vnet1", "nwfilter_binding_linkdev": "eth0",
				"nwfilter_binding_filter": "f"}, refusal{}},
		{"binding: no portdev", "nwfilter_binding:create", binding(owner + "<filterref filter='f'/>"),
			nil, refusal{errInternal, 33, "internal error: filter binding has no port dev name"}},
		{"binding: linkdev without name", "nwfilter_binding:create", binding("<portdev name='v'/><linkdev/>" + owner + "<filterref filter='f'/>"),
			nil, refusal{errInternal, 33, "internal error: filter binding has no link dev name"}},
		{"binding: no owner", "nwfilter_binding:create", binding("<portdev name='v'/><filterref filter='f'/>"),
			nil, refusal{errInternal, 33, "internal error: filter binding has no owner name"}},
		{"binding: no filter", "nwfilter_binding:create", binding("<portdev name='v'/>" + owner),
			nil, refusal{errInternal, 33, "internal error: filter binding has no filter reference"}},
		{"interface: ethernet with MAC", "interface:write", &proto.RemoteInterfaceDefineXMLArgs{XML: "<interface type='ethernet' name='eth9'><mac address='52:54:00:ab:cd:ef'/></interface>"},
			map[string]string{"interface_name": "eth9", "interface_macaddr": "52:54:00:ab:cd:ef"}, refusal{}},
		{"interface: MAC in upper case, which libvirt sends as written", "interface:write",
			&proto.RemoteInterfaceDefineXMLArgs{XML: "<interface type='ethernet' name='eth9'><mac address='52:54:00:AB:cd:ef'/></interface>"}, nil, refusal{}},
		{"interface: bridge, MAC not read", "interface:save", &proto.RemoteInterfaceDefineXMLArgs{XML: "<interface type='bridge' name='br9'><mac address='52:54:00:ab:cd:ef'/><bridge/></interface>"},
			map[string]string{"interface_name": "br9", "interface_macaddr": acl.NullDetail}, refusal{}},
		{"interface: no name", "interface:write", &proto.RemoteInterfaceDefineXMLArgs{XML: "<interface type='ethernet'/>"},
			nil, refusal{errXML, 26, "XML error: interface has no name"}},
		{"interface: unknown type", "interface:write", &proto.RemoteInterfaceDefineXMLArgs{XML: "<interface type='x' name='a'/>"}, nil, refusal{}},
		{"interface: malformed MAC", "interface:write", &proto.RemoteInterfaceDefineXMLArgs{XML: "<interface type='ethernet' name='a'><mac address='zz'/></interface>"}, nil, refusal{}},
		{"node device create: always a new device", "node_device:write", &proto.RemoteNodeDeviceCreateXMLArgs{XMLDesc: "<device><name>pci_0000_00_01_0</name><parent>x</parent></device>"},
			map[string]string{"node_device_name": newNodeDevice}, refusal{}},
		{"node device define", "node_device:write", &proto.RemoteNodeDeviceDefineXMLArgs{XMLDesc: "<device/>"},
			map[string]string{"node_device_name": newNodeDevice}, refusal{}},
		{"node device: another root", "node_device:start", &proto.RemoteNodeDeviceCreateXMLArgs{XMLDesc: "<domain/>"},
			nil, refusal{errXML, fromXMLParser, "XML error: expecting root element of 'device', not 'domain'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, name, _ := strings.Cut(tt.perm, ":")
			ot, err := acl.ParseObjectType(typ)
			if err != nil {
				t.Fatal(err)
			}
			perm, err := acl.ParsePermission(ot, name)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := newObjects(namedByUUID{}, "QEMU").fromArgs(t.Context(), perm, tt.args)
			if tt.attrs == nil {
				checkRefusal(t, err, tt.err)
				return
			}
			want := maps.Clone(tt.attrs)
			want["connect_driver"] = "QEMU"
			if err != nil || obj.Type() != ot || !maps.Equal(details(obj), want) {
				t.Errorf("got %v %v, %v; want %v", obj.Type(), details(obj), err, want)
			}
		})
	}
}

// checkRefusal checks that err refuses as want says.
func checkRefusal(t *testing.T, err error, want refusal) {
	t.Helper()
	if !errors.Is(err, errUnsupported) {
		t.Fatalf("got %v, want a refusal", err)
	}
	var de *docError
	switch {
	case want.code == 0 && errors.As(err, &de):
		t.Errorf("got libvirt's error %v, want a plain refusal", err)
	case want.code != 0 && !errors.As(err, &de):
		t.Errorf("got %v, want libvirt's error %+v", err, want)
	case want.code != 0:
		b := de.body()
		if b.Code != want.code || b.Domain != want.domain || *b.Message != want.msg {
			t.Errorf("got error %d/%d %q, want %d/%d %q", b.Code, b.Domain, *b.Message, want.code, want.domain, want.msg)
		}
	}
}

func TestReadXMLAsLibvirt(t *testing.T) {
	k := xmlKinds[acl.Domain]
	tests := []struct {
		name, doc string
		want      refusal // code 0: read
	}{
		{"well formed", "<domain><name>a</name></domain>", refusal{}},
		{"truncated", "<domain><name>a", refusal{errXMLDetail, 20, "(domain_definition):1: "}},
		{"mismatched end", "<domain>\n<name>a</nam></domain>", refusal{errXMLDetail, 20, "(domain_definition):2: "}},
		{"empty", "", refusal{errXMLDetail, 20, "(domain_definition):1: Document is empty"}},
		{"two roots", "<domain/><domain/>", refusal{errXMLDetail, 20, "(domain_definition):1: Extra content"}},
		{"text after the root", "<domain/>x", refusal{errXMLDetail, 20, "(domain_definition):1: text outside"}},
		{"repeated attribute", "<domain type='a' type='b'/>", refusal{errXMLDetail, 20, "(domain_definition):1: Attribute type redefined"}},
		{"undefined entity", "<!DOCTYPE domain [<!ENTITY n 'x'>]><domain><name>&n;</name></domain>", refusal{errXMLDetail, 20, "(domain_definition):1: "}},
		{"declared encoding", "<?xml version='1.0' encoding='ISO-8859-1'?><domain/>", refusal{errXMLDetail, 20, "(domain_definition):1: "}},
		{"another root, checked after the syntax", "<network><name>a", refusal{errXMLDetail, 20, "(domain_definition):1: "}},
		{"another root", "<network/>", refusal{errXML, fromXMLParser, "XML error: expecting root element of 'domain', not 'network'"}},
		{"root in a namespace", "<x:domain xmlns:x='u'/>", refusal{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readXML(tt.doc, k)
			var de *docError
			if tt.want.code == 0 {
				if errors.As(err, &de) {
					t.Errorf("got libvirt's error %v", err)
				}
				return
			}
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want libvirt's error %+v", err, tt.want)
			}
			if b := de.body(); b.Code != tt.want.code || b.Domain != tt.want.domain || !strings.HasPrefix(*b.Message, tt.want.msg) {
				t.Errorf("got %d/%d %q, want %d/%d %q...", b.Code, b.Domain, *b.Message, tt.want.code, tt.want.domain, tt.want.msg)
			}
		})
	}
	if _, err := readXML("<domain><x:y xmlns:x='u'/>", k); err == nil {
		t.Error("an unclosed document was read")
	}
}

// TestSyntaxErrorPoints: the detail shows the line and points at the
// column, as libvirt's catchXMLError does.
func TestSyntaxErrorPoints(t *testing.T) {
	_, err := readXML("<domain>\n\t<name>a</nam>\n</domain>", xmlKinds[acl.Domain])
	var de *docError
	if !errors.As(err, &de) {
		t.Fatalf("got %v", err)
	}
	lines := strings.Split(*de.body().Message, "\n")
	if len(lines) != 3 || lines[1] != "\t<name>a</nam>" || !strings.HasPrefix(lines[2], "\t") || !strings.HasSuffix(lines[2], "^") {
		t.Errorf("detail %q", lines)
	}
}
