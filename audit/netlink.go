// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Bounds of one batch: the kernel answers each record it refuses with
// its own error message, which must all fit the socket's receive buffer
// (answersBuffer, an answer costing about 1 KiB of it); the batch itself
// must fit the send buffer.
const (
	maxBatch      = 64
	maxBatchBytes = 64 << 10
	answersBuffer = 4 * maxBatch << 10
)

const nlmsgHdrLen = 16

// kernelSender writes user records on its own audit netlink socket, many
// per write. The kernel's audit_receive handles every netlink message of
// one write in turn, under one lock, before the write returns, and
// answers a message it refuses with an error carrying that message's
// sequence number, whether or not the message asked for an answer
// (NLM_F_ACK). So the records ask for none: when the write returns, every
// record without an error in the socket's receive queue was taken, just
// as an ack would have said, and the kernel did not build, queue and
// hand over an answer per record for that. (An ack would not say more:
// the kernel acks a record it then drops for a full backlog as taken, and
// counts it in its lost counter, which poll reads.) The kernel then holds
// the writer for up to backlog_wait_time when its backlog is over the
// limit; with a batch, that wait is paid once per batch instead of once
// per record.
type kernelSender struct {
	fd  int
	seq uint32
	out []byte // the batch being written, reused
	in  []byte // one read of answers, reused
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
	// A refusal then carries the header only, not the whole record, and
	// the receive buffer is sized for a batch of them whatever the host's
	// default (net.core.rmem_default).
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
		k.close()
		return nil, &Error{Unavailable, fmt.Errorf("ask for short netlink answers: %w", err)}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, answersBuffer); err != nil {
		k.close()
		return nil, &Error{Unavailable, fmt.Errorf("size the netlink receive buffer: %w", err)}
	}
	return k, nil
}

// send writes the records in one write and returns each one's outcome:
// nil once the kernel accepted it.
func (k *kernelSender) send(texts [][]byte) []error {
	return sendMessages(k, len(texts), func(i int) (uint16, []byte) { return RecordType, texts[i] })
}

// sendType sends records of kernel message type typ, as send does.
func (k *kernelSender) sendType(typ uint16, texts []string) []error {
	return sendMessages(k, len(texts), func(i int) (uint16, string) { return typ, texts[i] })
}

// sendMessages writes n messages on k in one write, the i-th of the type
// and text msg(i) gives, and returns each one's outcome.
func sendMessages[T string | []byte](k *kernelSender, n int, msg func(i int) (typ uint16, text T)) []error {
	first := k.seq + 1
	k.out = k.out[:0]
	for i := range n {
		typ, text := msg(i)
		k.seq++
		k.out = appendMessage(k.out, typ, k.seq, text)
	}
	errs := make([]error, n)
	if err := k.write(k.out); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("send audit record: %w", err)
		}
		return errs
	}
	k.refusals(first, errs)
	return errs
}

// appendMessage appends one netlink message, asking for no answer but a
// refusal. The text is followed by a NUL: the kernel overwrites a
// record's last byte with one.
func appendMessage[T string | []byte](b []byte, typ uint16, seq uint32, text T) []byte {
	var h [nlmsgHdrLen]byte
	binary.NativeEndian.PutUint32(h[0:], uint32(nlmsgHdrLen+len(text)+1))
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], unix.NLM_F_REQUEST)
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

// refusals reads the kernel's refusals of the batch whose first sequence
// number is first into errs. They were queued before the write returned,
// so none is waited for: the queue is read until it is empty. A full
// receive buffer (ENOBUFS) means a refusal was dropped, and which record
// it named is unknown: every record of the batch not known refused gets
// errUnanswered then, and the queue is still read to its end, since the
// kernel drops every later answer while it is not (the socket stays
// congested until a read empties it). Answers to earlier batches, and
// anything but a refusal, are skipped.
func (k *kernelSender) refusals(first uint32, errs []error) {
	for {
		n, _, err := unix.Recvfrom(k.fd, k.in, unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.ENOBUFS):
			k.unknown(errs, fmt.Errorf("%w: the kernel dropped answers: %w", errUnanswered, err))
			continue
		case err != nil:
			k.unknown(errs, fmt.Errorf("%w: read the kernel's answer: %w", errUnanswered, err))
			return
		}
		msgs, err := syscall.ParseNetlinkMessage(k.in[:n])
		if err != nil {
			k.unknown(errs, fmt.Errorf("%w: parse the kernel's answer: %w", errUnanswered, err))
			continue
		}
		for _, m := range msgs {
			i := m.Header.Seq - first
			if m.Header.Type != unix.NLMSG_ERROR || i >= uint32(len(errs)) {
				continue
			}
			if e := ackError(m.Data); e != nil { // an acknowledgement never clears an unknown
				errs[i] = e
			}
		}
	}
}

// unknown gives every record not known refused the error err.
func (k *kernelSender) unknown(errs []error, err error) {
	for i := range errs {
		if errs[i] == nil {
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
