// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"fmt"

	libaudit "github.com/elastic/go-libaudit/v2"
	"golang.org/x/sys/unix"
)

// sender sends records to the kernel. It is used by one goroutine at a
// time.
type sender interface {
	// send returns each record's outcome: nil once the kernel accepted it.
	send(texts [][]byte) []error
	close() error
}

// statusReader reads the kernel's audit status; one goroutine at a time.
type statusReader interface {
	// read returns the status and the kernel's lost counter.
	read() (Status, uint32, error)
	close() error
}

// kernelStatus reads the status with AUDIT_GET, which needs
// CAP_AUDIT_CONTROL. Its reply comes from a kernel thread, so go-libaudit
// polls for it (50 ms steps, half a second at most); a reply that comes too
// late would confuse the next read, so a failed client is replaced.
type kernelStatus struct {
	c *libaudit.AuditClient
}

func (k *kernelStatus) read() (Status, uint32, error) {
	if k.c == nil {
		c, err := libaudit.NewAuditClient(nil)
		if err != nil {
			return Status{}, 0, fmt.Errorf("open audit netlink socket: %w", err)
		}
		k.c = c
	}
	st, err := k.c.GetStatus()
	if err != nil {
		k.close()
		return Status{}, 0, fmt.Errorf("read audit status: %w", err)
	}
	return Status{
		Known:        true,
		Enabled:      st.Enabled,
		Daemon:       st.PID,
		Backlog:      st.Backlog,
		BacklogLimit: st.BacklogLimit,
	}, st.Lost, nil
}

func (k *kernelStatus) close() error {
	if k.c == nil {
		return nil
	}
	err := k.c.Close()
	k.c = nil
	return err
}

// canWrite reports whether this thread has CAP_AUDIT_WRITE in its effective
// set. Go gives every thread of a process the same capabilities.
func canWrite() (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("read capabilities: %w", err)
	}
	const bit = unix.CAP_AUDIT_WRITE
	return data[bit/32].Effective&(1<<(bit%32)) != 0, nil
}
