// SPDX-License-Identifier: Apache-2.0

package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/virt-acl-helper/virt-acl-helper/internal/xdr"
)

// ErrFrame marks a frame that is malformed (its length, its header or its
// fd count), as opposed to a failing connection. Test with errors.Is.
var ErrFrame = errors.New("malformed libvirt RPC frame")

// A Message is one decoded frame. Body is the undecoded XDR body.
type Message struct {
	Header Header
	NumFDs uint32 // for CallWithFDs and ReplyWithFDs only
	Body   []byte
}

// readChunk is how much Read allocates before data has arrived to fill it.
const readChunk = 64 << 10

// Read reads one message from r. A length word outside 28..MaxMessage+4,
// or an fd count over MaxFDs, is an ErrFrame; so is a frame cut short
// (io.ErrUnexpectedEOF also matches). At a clean end of input before a
// frame starts, Read returns io.EOF. Memory grows only with the bytes
// actually received, whatever the length word says.
func Read(r io.Reader) (*Message, error) {
	var lenBuf [LenSize]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: length word: %w", ErrFrame, err)
		}
		return nil, err
	}
	n, err := checkLength(binary.BigEndian.Uint32(lenBuf[:]))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(min(n, readChunk))
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %d of %d bytes: %w", ErrFrame, buf.Len(), n, err)
	}
	return parse(buf.Bytes())
}

// checkLength checks a length word, as virNetMessageDecodeLength does (and
// that the header fits), and returns the bytes that follow it.
func checkLength(l uint32) (int, error) {
	if l < LenSize+HeaderSize || l > MaxMessage+LenSize {
		return 0, fmt.Errorf("%w: length %d outside %d..%d", ErrFrame, l, LenSize+HeaderSize, MaxMessage+LenSize)
	}
	return int(l) - LenSize, nil
}

// Parse decodes a complete frame, length word included, as Read would.
func Parse(frame []byte) (*Message, error) {
	if len(frame) < LenSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrFrame, len(frame))
	}
	n, err := checkLength(binary.BigEndian.Uint32(frame))
	if err != nil {
		return nil, err
	}
	if n != len(frame)-LenSize {
		return nil, fmt.Errorf("%w: length word says %d bytes, frame has %d", ErrFrame, n+LenSize, len(frame))
	}
	return parse(append([]byte(nil), frame[LenSize:]...))
}

// parse decodes header, fd count and body; it keeps b as the body's
// backing array.
func parse(b []byte) (*Message, error) {
	d := xdr.NewDecoder(b)
	m := &Message{}
	if err := m.Header.decode(d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	if m.Header.Type.HasFDs() {
		n, err := d.Uint32()
		if err != nil {
			return nil, fmt.Errorf("%w: fd count: %w", ErrFrame, err)
		}
		if n > MaxFDs {
			return nil, fmt.Errorf("%w: %d fds, at most %d", ErrFrame, n, MaxFDs)
		}
		m.NumFDs = n
	}
	m.Body = b[len(b)-d.Remaining():]
	return m, nil
}

// Marshal encodes m as a frame, length word included. It refuses a
// message over MaxMessage, and an fd count on a type without one.
func (m *Message) Marshal() ([]byte, error) {
	if m.NumFDs != 0 && !m.Header.Type.HasFDs() {
		return nil, fmt.Errorf("%w: %d fds on a %s message", ErrFrame, m.NumFDs, m.Header.Type)
	}
	if m.NumFDs > MaxFDs {
		return nil, fmt.Errorf("%w: %d fds, at most %d", ErrFrame, m.NumFDs, MaxFDs)
	}
	size := HeaderSize + len(m.Body)
	if m.Header.Type.HasFDs() {
		size += 4
	}
	if size > MaxMessage {
		return nil, fmt.Errorf("%w: message of %d bytes, at most %d", ErrFrame, size, MaxMessage)
	}
	e := xdr.NewEncoder(make([]byte, 0, LenSize+size))
	e.Uint32(uint32(LenSize + size))
	m.Header.encode(e)
	if m.Header.Type.HasFDs() {
		e.Uint32(m.NumFDs)
	}
	return append(e.Bytes(), m.Body...), nil
}

// Write writes m to w as one frame.
func Write(w io.Writer, m *Message) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write %s serial %d: %w", m.Header.Type, m.Header.Serial, err)
	}
	return nil
}
