// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"fmt"
	"syscall"
)

// Cause says why a record was not written.
type Cause uint8

// The causes of a lost record.
const (
	// Unavailable: the kernel has no audit support, or the audit netlink
	// socket could not be opened.
	Unavailable Cause = iota + 1
	// Refused: the kernel refused the record: no CAP_AUDIT_WRITE (EPERM),
	// or not in the initial user namespace (ECONNREFUSED).
	Refused
	// Disabled: the host's audit is off (auditctl -e 0).
	Disabled
	// QueueFull: at level Auto, the queue was full and the writer had
	// taken and sent nothing for longer than the stall bound (the kernel
	// held it, a full backlog that did not move; or it got no CPU).
	QueueFull
	// Netlink: sending the record or reading the kernel's answer failed.
	Netlink
	// Timeout: at level Required, the caller's deadline passed before the
	// kernel answered.
	Timeout
	// Closed: the Writer was closed.
	Closed
)

// numCauses is the size of an array indexed by Cause.
const numCauses = int(Closed) + 1

func (c Cause) String() string {
	switch c {
	case Unavailable:
		return "unavailable"
	case Refused:
		return "refused"
	case Disabled:
		return "disabled"
	case QueueFull:
		return "queue-full"
	case Netlink:
		return "netlink"
	case Timeout:
		return "timeout"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// Error reports a record that was not written, or, from Open, why audit is
// unusable. Use errors.As to read the Cause.
type Error struct {
	Cause Cause
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Cause, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Errors for the causes that have no underlying system error.
var (
	errDisabled   = errors.New("audit is disabled on this host (auditctl -e 0)")
	errNoCap      = errors.New("no CAP_AUDIT_WRITE in the effective capability set")
	errQueueFull  = fmt.Errorf("audit queue full: the writer has sent no record for %v (the kernel holds it, or it gets no CPU)", stalled)
	errClosed     = errors.New("audit writer closed")
	errUnanswered = errors.New("whether the kernel took the record is unknown")
)

// kernelError classifies an error from sending a record or from the
// kernel's answer to it.
func kernelError(err error) *Error {
	switch {
	case errors.Is(err, syscall.EPERM):
		return &Error{Refused, fmt.Errorf("%w (CAP_AUDIT_WRITE is needed)", err)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Refused, fmt.Errorf("%w (audit works only in the initial user namespace)", err)}
	}
	return &Error{Netlink, err}
}
