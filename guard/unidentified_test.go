// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

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
	unknown := proto.RemoteNonnullSecret{UUID: [16]byte{0x53, 15: 0x35}, UsageType: 9, UsageID: "x"}
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
		"guard REMOTE_PROC_CONNECT_LIST_ALL_SECRETS getattr false unidentified [{listed 2} {shown 1} {hidden 1}]",
	}
	if !slices.Equal(records, want) {
		t.Errorf("records %q, want %q", records, want)
	}

	if _, err := listCheckerAudited(t, nil, allow, &refusingLog{}).allowed(ctx, p, perm, []any{unknown, sec2}); err == nil {
		t.Errorf("the left-out entry's record refused: the list was not refused")
	}
}
