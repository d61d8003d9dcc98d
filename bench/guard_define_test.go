// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/virt-acl-helper/virt-acl-helper/internal/libvirtclient"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// defineCalls is how many definitions are timed each way.
const defineCalls = 200

// envDefine is the definition the guard client times.
const envDefine = "VAH_BENCH_DEFINE"

// defineVM is a definition as virt-install writes one (q35, SPICE, a
// guest agent channel, virtio devices), less its disk and network
// interface, so that it needs no storage pool or network on the host:
// a volume or network adds one lookup and one decision to each define.
const defineVM = `<domain type="qemu">
  <name>%s</name>
  <uuid>b0000000-0000-4000-8000-0000000000fe</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory>1048576</memory>
  <currentMemory>1048576</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type arch="x86_64" machine="q35">hvm</type>
    <boot dev="hd"/>
  </os>
  <features><acpi/><apic/><vmport state="off"/></features>
  <clock offset="utc">
    <timer name="rtc" tickpolicy="catchup"/>
    <timer name="pit" tickpolicy="delay"/>
    <timer name="hpet" present="no"/>
  </clock>
  <pm><suspend-to-mem enabled="no"/><suspend-to-disk enabled="no"/></pm>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type="usb" model="qemu-xhci" ports="15"/>
    <console type="pty"/>
    <channel type="unix">
      <source mode="bind"/>
      <target type="virtio" name="org.qemu.guest_agent.0"/>
    </channel>
    <channel type="spicevmc">
      <target type="virtio" name="com.redhat.spice.0"/>
    </channel>
    <input type="tablet" bus="usb"/>
    <graphics type="spice" autoport="yes"><image compression="off"/></graphics>
    <video><model type="virtio"/></video>
    <redirdev bus="usb" type="spicevmc"/>
    <memballoon model="virtio"/>
    <rng model="virtio"><backend model="random">/dev/urandom</backend></rng>
  </devices>
</domain>`

// guardConf writes the default XML policy and returns the guard's
// configuration line beyond conf's (which already turns rate_limit off):
// the policy.
func (b *bench) guardConf() string {
	path := filepath.Join(b.w.Dir, "xml-policy.toml")
	if err := os.WriteFile(path, xmlpolicy.DefaultFile(), 0o644); err != nil {
		b.t.Fatal(err)
	}
	return fmt.Sprintf("xml_policy = %q\n", path)
}

// defineDoc returns the benchmark's definition for vm, checks that the
// default policy passes it, and times the policy's check alone.
func (b *bench) defineDoc(vm string) string {
	doc := fmt.Sprintf(defineVM, vm)
	pol := xmlpolicy.Default()
	if _, err := pol.Check(xmlpolicy.Domain, []byte(doc)); err != nil {
		b.t.Fatalf("the default XML policy refuses the benchmark's definition: %v", err)
	}
	l, err := loop(2000, func(int) error {
		_, err := pol.Check(xmlpolicy.Domain, []byte(doc))
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	b.report.timing("XML policy check of the definition, in process", l, "checks/s")
	return doc
}

// defineRows reports the define timings the client printed.
func (b *bench) defineRows(lat map[string]Latency) {
	direct, guarded := lat["define-libvirtd"], lat["define-guard"]
	if direct.N == 0 || guarded.N == 0 {
		b.t.Fatalf("the guard client reported no define results")
	}
	b.report.timing("DOMAIN_DEFINE_XML_FLAGS, straight to libvirtd", direct, "defines/s")
	b.report.timing("DOMAIN_DEFINE_XML_FLAGS, through the guard (XML policy, permissions cached)", guarded, "defines/s")
	b.report.add("cost", "XML policy and identity checks per define: through the guard p50 - straight p50",
		float64((guarded.P50-direct.P50).Nanoseconds())/1000, "µs")
	b.report.add("ratio", "through the guard p50 / straight to libvirtd p50 (define)",
		float64(guarded.P50)/float64(max(direct.P50, 1)), "x")
}

// defineTimes times n redefinitions of the benchmark's VM (the same name
// and UUID each time) on sock.
func defineTimes(sock, doc string, n int) (Latency, error) {
	return timeCalls(sock, n, func(c *libvirtclient.Client) (func(int) error, error) {
		return func(int) error {
			var ret proto.RemoteDomainDefineXMLFlagsRet
			return c.Do(proto.RemoteProcDomainDefineXMLFlags, &proto.RemoteDomainDefineXMLFlagsArgs{XML: doc}, &ret)
		}, nil
	})
}

// printDefines is the client's half: define timings each way.
func printDefines(guardSock, direct, doc string) error {
	for _, s := range []struct{ kind, sock string }{{"define-guard", guardSock}, {"define-libvirtd", direct}} {
		l, err := defineTimes(s.sock, doc, defineCalls)
		if err != nil {
			return fmt.Errorf("%s: %w", s.kind, err)
		}
		data, _ := json.Marshal(l)
		fmt.Printf("%s %s %s\n", guardResult, s.kind, data)
	}
	return nil
}
