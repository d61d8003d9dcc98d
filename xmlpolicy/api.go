// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import "fmt"

// Kind is what a document is, which decides its root element and the
// rules it is checked against.
type Kind int

const (
	// Domain is a whole <domain>: define, create, save-image and
	// managed-save define, migrate's destination XML, and the <domain>
	// a snapshot REDEFINE embeds.
	Domain Kind = iota
	// Device is one device element: attach, update and detach device.
	// It is checked as if it stood in /domain/devices.
	Device
	// Snapshot is a <domainsnapshot>.
	Snapshot
	// Backup is a <domainbackup>.
	Backup
	// Checkpoint is a <domaincheckpoint>.
	Checkpoint
	// BlockCopyDest is the <disk> destination of a block copy, checked
	// as a /domain/devices/disk.
	BlockCopyDest
)

var kindNames = [...]string{
	Domain:        "domain",
	Device:        "device",
	Snapshot:      "snapshot",
	Backup:        "backup",
	Checkpoint:    "checkpoint",
	BlockCopyDest: "blockcopy",
}

// String returns the kind's name as the CLI spells it.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind returns the kind the CLI spells name.
func ParseKind(name string) (Kind, error) {
	for k, n := range kindNames {
		if n == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown document kind %q (domain, device, snapshot, backup, checkpoint, blockcopy)", name)
}

// Uses is what a document names that the policy cannot judge alone: the
// guard asks the decision engine whether the user may use each.
type Uses struct {
	Volumes  []Volume // every <source pool= volume=>, in document order
	Networks []string // every <source network=> of an interface, in document order
	Name     string   // the domain's <name>, exactly as libvirt reads it
	UUID     string   // the domain's <uuid>, lower case with dashes; "" when absent
}

// Volume is a storage volume a document names.
type Volume struct{ Pool, Name string }

// Violation is why a document does not pass.
type Violation struct {
	Path   string // where, e.g. /domain/devices/interface[2]/script/@path
	Rule   string // the policy rule's name, as in the file
	Reason string // what is wrong, for a person
}

// Error names the path and the rule: the guard puts it in libvirt's
// access-denied message and the audit record.
func (v *Violation) Error() string {
	return fmt.Sprintf("%s: %s (rule %s)", v.Path, v.Reason, v.Rule)
}
