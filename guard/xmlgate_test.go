// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// Documents for the content gate's tests.
const (
	plainVM  = `<domain type='qemu'><name>%s</name>%s<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`
	shadowVM = `<domain type='qemu'><name>vmN</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>
  <devices><disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vda' bus='virtio'/></disk></devices></domain>`
)

func vmXML(name, uuid string) string {
	if uuid != "" {
		uuid = "<uuid>" + uuid + "</uuid>"
	}
	return strings.NewReplacer("%s", "").Replace(strings.Replace(strings.Replace(plainVM, "%s", name, 1), "%s", uuid, 1))
}

// nobodyIsRoot makes the test's own uid a user like any other.
func nobodyIsRoot(uint32) bool { return false }

// TestContentGate decides calls through the guard against a fake
// libvirtd, with the default policy, as a caller who is not root.
func TestContentGate(t *testing.T) {
	const (
		defineN = "domain:write domain_name=vmN"
		saveN   = "domain:save domain_name=vmN"
		admin   = "connect:write connect_driver=QEMU"
		uuidOfA = "a0000000-0000-0000-0000-00000000000a"
	)
	save := &proto.RemoteDomainSaveArgs{Dom: vmA, To: "/etc/passwd"}
	tests := []struct {
		name     string
		allow    []string
		off      bool
		paths    bool
		proc     proto.RemoteProcedure
		args     proto.Message
		wantCode int32
		wantMsg  string // in the error message and the audit record
	}{
		{"a plain definition passes", []string{defineN, saveN}, false, false, proto.RemoteProcDomainDefineXML,
			&proto.RemoteDomainDefineXMLArgs{XML: vmXML("vmN", "")}, 0, ""},
		{"a host path disk is refused, naming the path and rule", []string{defineN, saveN}, false, false, proto.RemoteProcDomainDefineXML,
			&proto.RemoteDomainDefineXMLArgs{XML: shadowVM}, frame.ErrAccessDenied, "/domain/devices/disk"},
		{"an admin defines it", []string{defineN, saveN, admin}, false, false, proto.RemoteProcDomainDefineXML,
			&proto.RemoteDomainDefineXMLArgs{XML: shadowVM}, 0, ""},
		{"without a policy it passes", []string{defineN, saveN}, true, false, proto.RemoteProcDomainDefineXML,
			&proto.RemoteDomainDefineXMLArgs{XML: shadowVM}, 0, ""},
		{"the content is checked before the permissions", nil, false, false, proto.RemoteProcDomainDefineXML,
			&proto.RemoteDomainDefineXMLArgs{XML: shadowVM}, frame.ErrAccessDenied, "rule "},
		{"another domain's UUID", []string{defineN, saveN, "domain:write " + uuidOfA, "domain:save " + uuidOfA}, false, false,
			proto.RemoteProcDomainDefineXML, &proto.RemoteDomainDefineXMLArgs{XML: vmXML("vmN", uuidOfA)}, frame.ErrAccessDenied, "rule guard.identity"},
		{"another domain's name", []string{"domain:write domain_name=vmA", "domain:save domain_name=vmA"}, false, false,
			proto.RemoteProcDomainDefineXML, &proto.RemoteDomainDefineXMLArgs{XML: vmXML("vmA", "")}, frame.ErrAccessDenied, "/domain/name"},
		{"its own name and UUID", []string{"domain:write " + uuidOfA, "domain:save " + uuidOfA}, false, false,
			proto.RemoteProcDomainDefineXML, &proto.RemoteDomainDefineXMLArgs{XML: vmXML("vmA", uuidOfA)}, 0, ""},
		{"save to a path", []string{"domain:hibernate " + uuidOfA}, false, false, proto.RemoteProcDomainSave, save, frame.ErrAccessDenied, "rule guard.host-path"},
		{"save to a path, allowed", []string{"domain:hibernate " + uuidOfA}, false, true, proto.RemoteProcDomainSave, save, 0, ""},
		{"a network definition", []string{"network:write *", "network:save *"}, false, false, proto.RemoteProcNetworkDefineXML,
			&proto.RemoteNetworkDefineXMLArgs{XML: "<network><name>n</name></network>"}, frame.ErrAccessDenied, "rule guard.host-object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pol *xmlpolicy.Policy
			if !tt.off {
				pol = xmlpolicy.Default()
			}
			w := newWorld(t, Options{Content: NewContentPolicy(pol, tt.paths), rootIsAdmin: nobodyIsRoot}, tt.allow...)
			c := w.dial(t)
			c.open()
			r := c.reply(c.sendArgs(tt.proc, tt.args))
			if code := errCode(t, r); code != tt.wantCode {
				t.Fatalf("error %d, want %d", code, tt.wantCode)
			}
			if tt.wantMsg == "" {
				return
			}
			eb, _ := frame.ParseError(r.Body)
			if !strings.Contains(eb.Error(), "XML content policy") || !strings.Contains(eb.Error(), tt.wantMsg) {
				t.Errorf("message %q, want the XML content policy and %q", eb.Error(), tt.wantMsg)
			}
			if recs := strings.Join(w.audit.records(), "\n"); !strings.Contains(recs, "refused rule=") {
				t.Errorf("no audit record naming the rule:\n%s", recs)
			}
		})
	}
}

// TestContentPolicyReload: a policy Set on the holder applies from the
// next call on; nil turns it off.
func TestContentPolicyReload(t *testing.T) {
	content := NewContentPolicy(xmlpolicy.Default(), false)
	w := newWorld(t, Options{Content: content, rootIsAdmin: nobodyIsRoot}, "domain:write domain_name=vmN", "domain:save domain_name=vmN")
	c := w.dial(t)
	c.open()
	define := &proto.RemoteDomainDefineXMLArgs{XML: shadowVM}
	if code := c.call(proto.RemoteProcDomainDefineXML, define); code != frame.ErrAccessDenied {
		t.Fatalf("with the policy: error %d", code)
	}
	content.Set(nil, false)
	if code := c.call(proto.RemoteProcDomainDefineXML, define); code != 0 {
		t.Fatalf("with the policy off: error %d", code)
	}
}
