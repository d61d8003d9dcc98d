// SPDX-License-Identifier: Apache-2.0

package xdr

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// An Encoder appends XDR values to a buffer. It applies the same limits as
// Decoder, so that whatever it encodes decodes again.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder appending to buf.
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns the encoded data.
func (e *Encoder) Bytes() []byte { return e.buf }

// Uint32 appends an unsigned int.
func (e *Encoder) Uint32(v uint32) { e.buf = binary.BigEndian.AppendUint32(e.buf, v) }

// Int32 appends an int or enum.
func (e *Encoder) Int32(v int32) { e.Uint32(uint32(v)) }

// Uint64 appends an unsigned hyper.
func (e *Encoder) Uint64(v uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }

// Int64 appends a hyper.
func (e *Encoder) Int64(v int64) { e.Uint64(uint64(v)) }

// Float32 appends a float.
func (e *Encoder) Float32(v float32) { e.Uint32(math.Float32bits(v)) }

// Float64 appends a double.
func (e *Encoder) Float64(v float64) { e.Uint64(math.Float64bits(v)) }

// Bool appends a bool or optional-data marker as 0 or 1.
func (e *Encoder) Bool(v bool) {
	if v {
		e.Uint32(1)
	} else {
		e.Uint32(0)
	}
}

// Int8 appends a char as a 4-byte int.
func (e *Encoder) Int8(v int8) { e.Int32(int32(v)) }

// Uint8 appends an unsigned char as a 4-byte int.
func (e *Encoder) Uint8(v uint8) { e.Uint32(uint32(v)) }

// Int16 appends a short as a 4-byte int.
func (e *Encoder) Int16(v int16) { e.Int32(int32(v)) }

// Uint16 appends an unsigned short as a 4-byte int.
func (e *Encoder) Uint16(v uint16) { e.Uint32(uint32(v)) }

// Count appends the length of a variable-length array of at most max
// elements.
func (e *Encoder) Count(n int, max uint32) error {
	if n < 0 || uint64(n) > uint64(max) {
		return fmt.Errorf("%w: length %d, maximum %d", ErrTooLong, n, max)
	}
	e.Uint32(uint32(n))
	return nil
}

func (e *Encoder) padded(b []byte) {
	e.buf = append(e.buf, b...)
	for i := len(b) % 4; i%4 != 0; i++ {
		e.buf = append(e.buf, 0)
	}
}

// String appends a string of at most max bytes; NUL is refused.
func (e *Encoder) String(s string, max uint32) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("%w at byte %d of %d", ErrNUL, i, len(s))
	}
	if err := e.Count(len(s), max); err != nil {
		return err
	}
	e.padded([]byte(s))
	return nil
}

// Opaque appends variable-length opaque data of at most max bytes.
func (e *Encoder) Opaque(b []byte, max uint32) error {
	if err := e.Count(len(b), max); err != nil {
		return err
	}
	e.padded(b)
	return nil
}

// FixedOpaque appends fixed-length opaque data.
func (e *Encoder) FixedOpaque(b []byte) { e.padded(b) }
