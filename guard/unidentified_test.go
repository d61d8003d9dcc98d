// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// TestEntryName: a list entry is named by what libvirtd listed it by.
func TestEntryName(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"node device name", "pci_0000_00_01_0", "pci_0000_00_01_0"},
		{"interface", proto.RemoteNonnullInterface{Name: "tun0"}, "tun0"},
		{"binding", proto.RemoteNonnullNwfilterBinding{Portdev: "vnet0", Filtername: "clean-traffic"}, "vnet0"},
		{"secret", sec1, uuidString(sec1.UUID)},
		{"network port", proto.RemoteNonnullNetworkPort{UUID: [16]byte{0xaa}}, uuidString([16]byte{0xaa})},
		{"volume", vol1, "v1"},
		{"no name", 42, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := entryName(tt.v); got != tt.want {
				t.Errorf("entryName(%#v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}

// TestEntryDetails: the record of an entry left out names it as libvirtd
// listed it, a volume with its pool, a network port with its network
// (its name when libvirtd gave one), as their own records name them.
func TestEntryDetails(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	filter := func(num proto.RemoteProcedure) acl.Permission {
		p, _ := table.Lookup(proto.Remote, int32(num))
		return p.Filters()[0]
	}
	vols, secrets := filter(proto.RemoteProcStoragePoolListAllVolumes), filter(proto.RemoteProcConnectListAllSecrets)
	ports := filter(proto.RemoteProcNetworkListAllPorts)
	net := proto.RemoteNonnullNetwork{Name: "net0", UUID: [16]byte{0x4e, 15: 0xe4}}
	port := proto.RemoteNonnullNetworkPort{Net: net, UUID: [16]byte{0xaa}}
	unnamed := proto.RemoteNonnullNetworkPort{Net: proto.RemoteNonnullNetwork{UUID: net.UUID}, UUID: port.UUID}
	for _, tt := range []struct {
		name string
		perm acl.Permission
		v    any
		want []audit.Detail
	}{
		{"volume", vols, vol1, []audit.Detail{{Key: "pool_name", Value: "poolA"}, {Key: "vol_name", Value: "v1"}}},
		{"secret", secrets, sec1, []audit.Detail{{Key: "secret_uuid", Value: uuidString(sec1.UUID)}}},
		{"node device name", filter(proto.RemoteProcConnectListAllNodeDevices), "pci_0", []audit.Detail{{Key: "node_device_name", Value: "pci_0"}}},
		{"network port", ports, port, []audit.Detail{{Key: "network_name", Value: "net0"},
			{Key: "network_uuid", Value: uuidString(net.UUID)}, {Key: "port_uuid", Value: uuidString(port.UUID)}}},
		{"network port, its network unnamed", ports, unnamed, []audit.Detail{
			{Key: "network_uuid", Value: uuidString(net.UUID)}, {Key: "port_uuid", Value: uuidString(port.UUID)}}},
		{"no permission", acl.Permission{}, vol1, nil},
		{"no name", secrets, 42, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := entryDetails(tt.perm, tt.v); !slices.Equal(got, tt.want) {
				t.Errorf("entryDetails = %v, want %v", got, tt.want)
			}
		})
	}
}

// refusingLog is an audit log that refuses the records that are no
// decision, as the kernel refuses one at audit level required.
type refusingLog struct{ auditLog }

func (*refusingLog) WriteRecord(context.Context, audit.Record) error {
	return errors.New("record refused")
}

// TestUnidentifiedAudited: a listed secret of a usage type the guard does
// not know is left out, and recorded with reason=unidentified and its
// UUID, beside the list's record counting it hidden; at audit level
// required, a list whose left-out entry's record is refused is refused.
func TestUnidentifiedAudited(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	unknown := unknownSecret
	p, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcConnectListAllSecrets))
	perm := p.Filters()[0]
	allow := map[string]bool{perm.String() + " " + uuidString(sec2.UUID): true}
	ctx := context.Background()

	log := &auditLog{}
	keep, err := listCheckerAudited(t, nil, allow, log).allowed(ctx, p, perm, []any{unknown, sec2})
	if err != nil || !slices.Equal(keep, []bool{false, true}) {
		t.Fatalf("kept %v, %v; want the unknown secret left out", keep, err)
	}
	var records []string
	for _, r := range log.records() {
		if strings.Contains(r, "[{") {
			records = append(records, r)
		}
	}
	want := []string{
		"guard REMOTE_PROC_CONNECT_LIST_ALL_SECRETS getattr false unidentified [{secret_uuid " + uuidString(unknown.UUID) + "}]",
		"guard REMOTE_PROC_CONNECT_LIST_ALL_SECRETS getattr false unidentified [{listed 2} {shown 1} {hidden 1} {undecided 1}]",
	}
	if !slices.Equal(records, want) {
		t.Errorf("records %q, want %q", records, want)
	}

	if _, err := listCheckerAudited(t, nil, allow, &refusingLog{}).allowed(ctx, p, perm, []any{unknown, sec2}); err == nil {
		t.Errorf("the left-out entry's record refused: the list was not refused")
	}
}

// TestListEntryClientGone: a listed volume whose pool lookup the
// session's end cut short is not recorded as unidentified (nothing about
// the entry made it so): the list is abandoned, not answered short.
func TestListEntryClientGone(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcStoragePoolListAllVolumes))
	perm := p.Filters()[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &auditLog{}
	if _, err := listCheckerAudited(t, cancelling(cancel), map[string]bool{}, log).allowed(ctx, p, perm, []any{vol1}); err == nil {
		t.Errorf("the client gone during the pool lookup: the list was answered")
	}
	for _, r := range log.records() {
		if strings.Contains(r, reasonUnidentified) {
			t.Errorf("recorded %q", r)
		}
	}
}
