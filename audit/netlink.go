// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Bounds of one batch: the kernel answers each record with its own ack,
// which must all fit the socket's receive buffer (about 200 KiB by default,
// an ack costing about 1 KiB of it); the batch itself must fit the send
// buffer.
const (
	maxBatch      = 64
	maxBatchBytes = 64 << 10
)

const nlmsgHdrLen = 16

// kernelSender writes user records on its own audit netlink socket, many
// per write: the kernel's audit_receive handles every netlink message of
// one write in turn, under one lock, and acknowledges each (NLM_F_ACK)
// with its own sequence number, all before the write returns. The kernel
// then holds the writer for up to backlog_wait_time when its backlog is
// over the limit; with a batch, that wait is paid once per batch instead
// of once per record.
type kernelSender struct {
	fd   int
	seq  uint32
	out  []byte // the batch being written, reused
	in   []byte // one ack, reused
	done []bool // which records of the batch have their ack
}

func dialSender() (*kernelSender, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, &Error{Unavailable, fmt.Errorf("open audit netlink socket: %w", err)}
	}
	k := &kernelSender{fd: fd, in: make([]byte, 16<<10)}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		k.close()
		return nil, &Error{Unavailable, fmt.Errorf("bind audit netlink socket: %w", err)}
	}
	// A refusal's ack then carries the header only, not the whole record:
	// a batch of refusals fits the receive buffer too.
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
		k.close()
		return nil, &Error{Unavailable, fmt.Errorf("ask for short netlink acks: %w", err)}
	}
	return k, nil
}

// send writes the records in one write and returns each one's outcome:
// nil once the kernel accepted it.
func (k *kernelSender) send(texts []string) []error { return k.sendType(RecordType, texts) }

// sendType sends records of kernel message type typ, as send does.
func (k *kernelSender) sendType(typ uint16, texts []string) []error {
	errs := make([]error, len(texts))
	first := k.seq + 1
	k.out = k.out[:0]
	for _, t := range texts {
		k.seq++
		k.out = appendMessage(k.out, typ, k.seq, t)
	}
	if err := k.write(k.out); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("send audit record: %w", err)
		}
		return errs
	}
	k.acks(first, errs)
	return errs
}

// appendMessage appends one netlink message asking for an ack. The text
// is followed by a NUL: the kernel overwrites a record's last byte with one.
func appendMessage(b []byte, typ uint16, seq uint32, text string) []byte {
	var h [nlmsgHdrLen]byte
	binary.NativeEndian.PutUint32(h[0:], uint32(nlmsgHdrLen+len(text)+1))
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(h[8:], seq)
	b = append(append(append(b, h[:]...), text...), 0)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

func (k *kernelSender) write(b []byte) error {
	for {
		err := unix.Sendto(k.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// acks reads the kernel's answer to each record of the batch whose first
// sequence number is first, into errs. The answers were queued before the
// write returned, so none is waited for: a record without one gets
// errNoAck. Answers to earlier batches (whose reading failed) are skipped.
func (k *kernelSender) acks(first uint32, errs []error) {
	k.done = append(k.done[:0], make([]bool, len(errs))...)
	for left := len(errs); left > 0; {
		n, _, err := unix.Recvfrom(k.fd, k.in, unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			k.unanswered(errs, err)
			return
		}
		msgs, err := syscall.ParseNetlinkMessage(k.in[:n])
		if err != nil {
			k.unanswered(errs, fmt.Errorf("parse the kernel's answer: %w", err))
			return
		}
		for _, m := range msgs {
			i := m.Header.Seq - first
			if m.Header.Type != unix.NLMSG_ERROR || i >= uint32(len(errs)) || k.done[i] {
				continue
			}
			k.done[i] = true
			errs[i] = ackError(m.Data)
			left--
		}
	}
}

// unanswered gives the records still without an ack the reason why.
func (k *kernelSender) unanswered(errs []error, err error) {
	if errors.Is(err, unix.EAGAIN) {
		err = errNoAck
	} else {
		err = fmt.Errorf("read the kernel's answer: %w", err)
	}
	for i, done := range k.done {
		if !done {
			errs[i] = err
		}
	}
}

// ackError reads an NLMSG_ERROR payload: a negative errno, 0 for success.
func ackError(data []byte) error {
	if len(data) < 4 {
		return errors.New("short answer from the kernel")
	}
	if code := int32(binary.NativeEndian.Uint32(data)); code != 0 {
		return fmt.Errorf("kernel refused the record: %w", syscall.Errno(-code))
	}
	return nil
}

func (k *kernelSender) close() error { return unix.Close(k.fd) }
