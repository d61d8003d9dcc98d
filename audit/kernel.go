// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"fmt"
	"syscall"

	libaudit "github.com/elastic/go-libaudit/v2"
	"golang.org/x/sys/unix"
)

// sender sends records to the kernel. It is used by one goroutine at a
// time: go-libaudit's client matches replies to requests and is not safe
// for concurrent use.
type sender interface {
	// send returns nil once the kernel has accepted text (which ends in NUL).
	send(text []byte) error
	close() error
}

// statusReader reads the kernel's audit status; one goroutine at a time.
type statusReader interface {
	// read returns the status and the kernel's lost counter.
	read() (Status, uint32, error)
	close() error
}

// kernelSender sends user records through go-libaudit's netlink client,
// which has no helper for them: it builds the message itself.
type kernelSender struct {
	c *libaudit.AuditClient
}

func dialSender() (*kernelSender, error) {
	c, err := libaudit.NewAuditClient(nil)
	if err != nil {
		return nil, &Error{Unavailable, fmt.Errorf("open audit netlink socket: %w", err)}
	}
	return &kernelSender{c: c}, nil
}

// send asks for an acknowledgement: the kernel handles a user record while
// the sendto call is in progress and queues its answer (0 or an errno)
// before sendto returns, so the answer is read without waiting. The kernel
// may then hold the sender for up to backlog_wait_time when its backlog is
// over the limit: that wait happens inside sendto, after the record was
// queued.
func (k *kernelSender) send(text []byte) error { return k.sendType(RecordType, text) }

// sendType sends a record of kernel message type typ, as send does.
func (k *kernelSender) sendType(typ uint16, text []byte) error {
	msg := syscall.NetlinkMessage{
		Header: syscall.NlMsghdr{
			Type:  typ,
			Flags: syscall.NLM_F_REQUEST | syscall.NLM_F_ACK,
		},
		Data: text,
	}
	var seq uint32
	var err error
	for {
		seq, err = k.c.Netlink.Send(msg)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("send audit record: %w", err)
	}
	return k.ack(seq)
}

// ack reads the kernel's answer to request seq, skipping answers to earlier
// requests whose reading failed.
func (k *kernelSender) ack(seq uint32) error {
	for {
		msgs, err := k.c.Netlink.Receive(true, syscall.ParseNetlinkMessage)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return errNoAck
		case err != nil:
			return fmt.Errorf("read the kernel's answer: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq || m.Header.Type != syscall.NLMSG_ERROR {
				continue
			}
			if err := libaudit.ParseNetlinkError(m.Data); err != nil {
				return fmt.Errorf("kernel refused the record: %w", err)
			}
			return nil
		}
	}
}

func (k *kernelSender) close() error { return k.c.Close() }

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
