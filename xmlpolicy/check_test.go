// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// domainWith is a small domain the default policy passes, with extra
// inserted into <devices> and top into <domain>.
func domainWith(top, devices string) string {
	return `<domain type='qemu'><name>vm1</name>` + top + `<memory unit='MiB'>256</memory><vcpu>1</vcpu>` +
		`<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>` +
		`<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='default' volume='vm1.raw'/><target dev='vda' bus='virtio'/></disk>` +
		devices + `</devices></domain>`
}

// TestCheck: what passes and what is refused, with the rule and path the
// refusal names.
func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		doc      string
		wantRule string // "" passes
		wantPath string
	}{
		{"plain", Domain, domainWith("", ""), "", ""},
		{"uuid", Domain, domainWith("<uuid>0A81F5B2-8403-7B23-C8D6-21CCC2F80D6F</uuid>", ""), "", ""},
		{"uefi", Domain, strings.Replace(domainWith("", ""), "<os>", "<os firmware='efi'>", 1), "", ""},
		{"uefi secure loader", Domain, strings.Replace(domainWith("", ""), "</os>", "<loader secure='yes'/></os>", 1), "", ""},
		{"memory in GiB at the bound", Domain, strings.Replace(domainWith("", ""), "<memory unit='MiB'>256</memory>", "<memory unit='GiB'>16</memory>", 1), "", ""},
		{"memory in bytes above", Domain, strings.Replace(domainWith("", ""), "<memory unit='MiB'>256</memory>", "<memory unit='bytes'>17179869185</memory>", 1), "resources", "/domain/memory"},
		{"memory no unit above", Domain, strings.Replace(domainWith("", ""), "<memory unit='MiB'>256</memory>", "<memory>16777217</memory>", 1), "resources", "/domain/memory"},
		{"memory not decimal", Domain, strings.Replace(domainWith("", ""), "<memory unit='MiB'>256</memory>", "<memory>0x100</memory>", 1), "resources", "/domain/memory"},
		{"vcpu with spaces", Domain, strings.Replace(domainWith("", ""), "<vcpu>1</vcpu>", "<vcpu> 1</vcpu>", 1), "resources", "/domain/vcpu"},
		{"graphics on ::1", Domain, domainWith("", "<graphics type='vnc' listen='::1'/>"), "", ""},
		{"graphics on 127.0.0.2", Domain, domainWith("", "<graphics type='spice'><listen type='address' address='127.0.0.2'/></graphics>"), "", ""},
		{"graphics on a mapped 0.0.0.0", Domain, domainWith("", "<graphics type='vnc' listen='::ffff:0.0.0.0'/>"), "graphics", "/domain/devices/graphics/@listen"},
		{"graphics on a name", Domain, domainWith("", "<graphics type='vnc' listen='myhost'/>"), "graphics", "/domain/devices/graphics/@listen"},
		{"graphics socket without path", Domain, domainWith("", "<graphics type='vnc'><listen type='socket'/></graphics>"), "", ""},
		{"qcow2 with backingStore", Domain, strings.Replace(domainWith("", ""), "type='raw'/>", "type='qcow2'/><backingStore/>", 1), "", ""},
		{"qcow2 without backingStore", Domain, strings.Replace(domainWith("", ""), "type='raw'/>", "type='qcow2'/>", 1), "disks", "/domain/devices/disk"},
		{"backingStore with content", Domain, strings.Replace(domainWith("", ""), "type='raw'/>", "type='qcow2'/><backingStore><format type='raw'/></backingStore>", 1), "disks", "/domain/devices/disk/backingStore/format"},
		{"no driver type", Domain, strings.Replace(domainWith("", ""), " type='raw'", "", 1), "disks", "/domain/devices/disk"},
		{"empty cdrom", Domain, domainWith("", "<disk type='volume' device='cdrom'><driver name='qemu' type='raw'/><target dev='sda' bus='sata'/><readonly/></disk>"), "", ""},
		{"pool without volume", Domain, strings.Replace(domainWith("", ""), " volume='vm1.raw'", "", 1), "disks", "/domain/devices/disk/source"},
		{"volume name with slash", Domain, strings.Replace(domainWith("", ""), "vm1.raw", "../x", 1), "disks", "/domain/devices/disk/source/@volume"},
		{"ninth disk", Domain, domainWith("", strings.Repeat("<disk type='volume' device='cdrom'><driver name='qemu' type='raw'/><target dev='sda' bus='sata'/></disk>", 8)), "disks", "/domain/devices/disk[9]"},
		{"channel name escaping its directory", Domain, domainWith("", "<channel type='unix'><target type='virtio' name='../../x'/></channel>"), "chardevs", "/domain/devices/channel/target/@name"},
		{"rng /dev/random", Domain, domainWith("", "<rng model='virtio'><backend model='random'>/dev/random</backend></rng>"), "", ""},
		{"rng with no backend", Domain, domainWith("", "<rng model='virtio'/>"), "misc-devices", "/domain/devices/rng"},
		{"metadata", Domain, domainWith("<metadata><x:a xmlns:x='urn:x' x:b='1'><x:c>text</x:c></x:a></metadata>", ""), "", ""},
		{"metadata too big", Domain, domainWith("<metadata><x:a xmlns:x='urn:x'>"+strings.Repeat("y", 20000)+"</x:a></metadata>", ""), "limits", "/domain/metadata"},
		{"metadata attribute", Domain, domainWith("<metadata xmlns:x='urn:x'></metadata>", ""), "metadata", "/domain/metadata/@xmlns:x"},
		{"foreign element at top", Domain, domainWith("<x:a xmlns:x='urn:x'/>", ""), "namespaces", "/domain/x:a"},
		{"xml:lang attribute", Domain, strings.Replace(domainWith("", ""), "<name>", "<name xml:lang='en'>", 1), "namespaces", "/domain/name/@xml:lang"},
		{"device", Device, "<interface type='network'><source network='default'/><model type='virtio'/></interface>", "", ""},
		{"device not allowed", Device, "<hostdev mode='subsystem' type='usb'/>", "allowlist", "/hostdev"},
		{"device is not a domain", Device, domainWith("", ""), "allowlist", "/domain"},
		{"domain is not a device", Domain, "<disk type='volume'/>", "allowlist", "/disk"},
		{"blockcopy volume", BlockCopyDest, "<disk type='volume'><driver type='raw'/><source pool='default' volume='copy.raw'/><target dev='vda'/></disk>", "", ""},
		{"blockcopy must be a disk", BlockCopyDest, "<interface type='network'><source network='default'/></interface>", "allowlist", "/interface"},
		{"snapshot internal", Snapshot, "<domainsnapshot><name>s1</name><memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>", "", ""},
		{"snapshot redefine passes", Snapshot, "<domainsnapshot><name>s1</name>" + domainWith("", "") + "</domainsnapshot>", "", ""},
		{"snapshot redefine host disk", Snapshot, "<domainsnapshot><name>s1</name>" + strings.Replace(domainWith("", ""), "type='volume'", "type='file'", 1) + "</domainsnapshot>", "disks", "/domainsnapshot/domain/devices/disk/@type"},
		{"checkpoint", Checkpoint, "<domaincheckpoint><name>c1</name><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>", "", ""},
		{"backup push to a volume", Backup, "<domainbackup mode='push'><disks><disk name='vda' backup='yes' type='volume'><target pool='default' volume='b.raw'/><driver type='raw'/></disk></disks></domainbackup>", "", ""},
		{"backup default mode", Backup, "<domainbackup/>", "backup", "/domainbackup"},
	}
	p := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Check(tt.kind, []byte(tt.doc))
			if tt.wantRule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var v *Violation
			if !errors.As(err, &v) || v.Rule != tt.wantRule || v.Path != tt.wantPath {
				t.Fatalf("Check = %v, want rule %s at %s", err, tt.wantRule, tt.wantPath)
			}
		})
	}
}

// TestUses: what a passing document names, as the guard needs it.
func TestUses(t *testing.T) {
	doc := domainWith("<uuid>0A81F5B2-8403-7B23-C8D6-21CCC2F80D6F</uuid>",
		"<disk type='volume' device='cdrom'><driver name='qemu' type='raw'/><source pool='default' volume='inst.iso'/><target dev='sda' bus='sata'/></disk>"+
			"<interface type='network'><source network='default'/></interface><interface type='network'><source network='default'/></interface>")
	uses, err := Default().Check(Domain, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Uses{
		Volumes:  []Volume{{"default", "vm1.raw"}, {"default", "inst.iso"}},
		Networks: []string{"default", "default"},
		Name:     "vm1",
		UUID:     "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f",
	}
	if !reflect.DeepEqual(uses, want) {
		t.Errorf("Uses = %+v, want %+v", uses, want)
	}
	// A redefined snapshot's two domains must be one VM.
	other := strings.Replace(strings.Replace(domainWith("", ""), "<domain ", "<inactiveDomain ", 1), "</domain>", "</inactiveDomain>", 1)
	other = strings.Replace(other, "<name>vm1</name>", "<name>vm2</name>", 1)
	snap := "<domainsnapshot><name>s1</name>" + domainWith("", "") + other + "</domainsnapshot>"
	_, err = Default().Check(Snapshot, []byte(snap))
	if v, ok := err.(*Violation); !ok || v.Path != "/domainsnapshot/inactiveDomain/name" {
		t.Errorf("a snapshot of two domains: %v, want refused at /domainsnapshot/inactiveDomain/name", err)
	}
}

// TestConcurrentCheck: one Policy serves many goroutines (run with -race).
func TestConcurrentCheck(t *testing.T) {
	p := Default()
	docs := corpus(t, "accepted")
	done := make(chan error)
	for range 4 {
		go func() {
			var err error
			for _, doc := range docs {
				if _, e := p.Check(Domain, doc); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestCheckAll reports every violation; Check the first of them.
func TestCheckAll(t *testing.T) {
	doc := domainWith("<seclabel type='none'/>", "<hostdev/><interface type='bridge'><source bridge='br0'/></interface>")
	_, vs := Default().CheckAll(Domain, []byte(doc))
	var got []string
	for _, v := range vs {
		got = append(got, v.Rule+" "+v.Path)
	}
	want := []string{"domain /domain/seclabel", "devices /domain/devices/hostdev", "interfaces /domain/devices/interface/@type",
		"interfaces /domain/devices/interface/source/@bridge", "interfaces /domain/devices/interface/source"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckAll = %q, want %q", got, want)
	}
	_, err := Default().Check(Domain, []byte(doc))
	if err == nil || err.Error() != vs[0].Error() {
		t.Errorf("Check = %v, want the first of CheckAll, %v", err, vs[0])
	}
	if got, want := vs[0].Error(), "/domain/seclabel: element <seclabel> is not allowed here (rule domain)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
