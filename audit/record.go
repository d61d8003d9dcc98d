// SPDX-License-Identifier: Apache-2.0

package audit

import "fmt"

// Detail is one key/value pair of an object's identity, as libvirt passes it
// to polkit: connect_driver, domain_name, domain_uuid, pool_name, ...
type Detail struct {
	Key   string
	Value string
}

// Record is one access decision, as the audit log keeps it. The engine maps
// its decision to a Record; this package knows nothing of how it was made.
type Record struct {
	Granted bool
	// Reason says why a denial happened ("policy", "unavailable", ...). It
	// is not recorded for grants.
	Reason string

	Permission string // libvirt permission, e.g. "start"
	ActionID   string // polkit action id, e.g. "org.libvirt.api.domain.start"
	ObjectType string // libvirt object type, e.g. "domain", "storage_pool"

	// VMName and UUID become the vm= and uuid= fields that ausearch's
	// --vm-name and --uuid match. Set them for domains only; empty fields
	// are left out.
	VMName string
	UUID   string
	// Details identify the object, in libvirt's order (connect_driver
	// first). They are recorded after the subject.
	Details []Detail

	// The subject: the process that asked, as the kernel knows it.
	PID     int
	UID     uint32
	AUID    uint32 // login uid; proc.Unset if none
	Session uint32 // audit session; proc.Unset if none
	Exe     string // executable path; empty if unknown

	Driver string // access driver that decided, or the stack, e.g. "none,polkit"
	Cached bool   // the answer came from the decision cache

	// FrontEnd names the front end that asked and enforces the decision
	// (a libvirt-protocol guard), and Operation what it guarded, in its
	// own terms (a libvirt procedure). Both are optional: empty ones are
	// left out, as in records written before they existed.
	FrontEnd  string
	Operation string
	// Rule and Where say what content refused the operation: the rule of
	// the front end's content policy (an XML policy rule) and where in
	// the client's document it applies (an element or attribute path).
	// Both are optional and written only when set.
	Rule  string
	Where string

	// Requester is the process that asked on the subject's behalf (a
	// proxy, as the kernel knows it); nil when the subject asked about
	// itself. Every record says which: requester=self, or
	// requester=proxy with the proxy's pid, uid and executable.
	Requester *Requester
}

// Requester is a process that asked about another (the subject).
type Requester struct {
	PID int
	UID uint32
	Exe string // executable path; empty if unknown
}

// Level is the audit policy, as libvirtd.conf's audit_level.
type Level int

// The audit levels.
const (
	// Off records nothing in the audit log (audit_logging still applies).
	Off Level = 0
	// Auto records decisions when the host's audit is usable and carries
	// on without it otherwise, counting what was not recorded. The default.
	Auto Level = 1
	// Required refuses to open when audit is unusable, and makes Write
	// fail, so the caller denies, when a record was not accepted.
	Required Level = 2
)

func (l Level) String() string {
	switch l {
	case Off:
		return "off"
	case Auto:
		return "auto"
	case Required:
		return "required"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// valid reports whether l is one of the three levels.
func (l Level) valid() bool { return l >= Off && l <= Required }
