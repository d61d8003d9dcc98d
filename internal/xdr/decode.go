// SPDX-License-Identifier: Apache-2.0

package xdr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// A Decoder reads XDR values from one message body. It never reads past
// the body and never retains it beyond what the decoded values hold
// (opaque data is copied).
type Decoder struct {
	buf []byte
	off int
}

// NewDecoder returns a Decoder reading body.
func NewDecoder(body []byte) *Decoder { return &Decoder{buf: body} }

// Remaining returns the number of bytes not yet read.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Finish reports ErrLeftover if any bytes remain.
func (d *Decoder) Finish() error {
	if n := d.Remaining(); n != 0 {
		return fmt.Errorf("%w: %d of %d bytes unread", ErrLeftover, n, len(d.buf))
	}
	return nil
}

func (d *Decoder) take(n int) ([]byte, error) {
	if n < 0 || n > d.Remaining() {
		return nil, fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrShort, n, d.off, d.Remaining())
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b, nil
}

// Uint32 reads an unsigned int.
func (d *Decoder) Uint32() (uint32, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// Int32 reads an int (or an enum, which XDR does not range-check).
func (d *Decoder) Int32() (int32, error) {
	v, err := d.Uint32()
	return int32(v), err
}

// Uint64 reads an unsigned hyper.
func (d *Decoder) Uint64() (uint64, error) {
	b, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// Int64 reads a hyper.
func (d *Decoder) Int64() (int64, error) {
	v, err := d.Uint64()
	return int64(v), err
}

// Float32 reads a float.
func (d *Decoder) Float32() (float32, error) {
	v, err := d.Uint32()
	return math.Float32frombits(v), err
}

// Float64 reads a double.
func (d *Decoder) Float64() (float64, error) {
	v, err := d.Uint64()
	return math.Float64frombits(v), err
}

// Bool reads a bool or an optional-data marker: any nonzero word is true,
// as libvirtd's xdr_bool reads it.
func (d *Decoder) Bool() (bool, error) {
	v, err := d.Uint32()
	return v != 0, err
}

// Int8 reads a char, which XDR carries in a 4-byte int.
func (d *Decoder) Int8() (int8, error) {
	v, err := d.Int32()
	if err == nil && (v < math.MinInt8 || v > math.MaxInt8) {
		err = fmt.Errorf("%w: char %d", ErrRange, v)
	}
	return int8(v), err
}

// Uint8 reads an unsigned char, which XDR carries in a 4-byte int.
func (d *Decoder) Uint8() (uint8, error) {
	v, err := d.Uint32()
	if err == nil && v > math.MaxUint8 {
		err = fmt.Errorf("%w: unsigned char %d", ErrRange, v)
	}
	return uint8(v), err
}

// Int16 reads a short, which XDR carries in a 4-byte int.
func (d *Decoder) Int16() (int16, error) {
	v, err := d.Int32()
	if err == nil && (v < math.MinInt16 || v > math.MaxInt16) {
		err = fmt.Errorf("%w: short %d", ErrRange, v)
	}
	return int16(v), err
}

// Uint16 reads an unsigned short, which XDR carries in a 4-byte int.
func (d *Decoder) Uint16() (uint16, error) {
	v, err := d.Uint32()
	if err == nil && v > math.MaxUint16 {
		err = fmt.Errorf("%w: unsigned short %d", ErrRange, v)
	}
	return uint16(v), err
}

// length reads a length word and checks it against max and against the
// bytes that remain, each element needing at least minSize bytes.
func (d *Decoder) length(max uint32, minSize int) (int, error) {
	n, err := d.Uint32()
	if err != nil {
		return 0, err
	}
	if n > max {
		return 0, fmt.Errorf("%w: length %d, maximum %d", ErrTooLong, n, max)
	}
	if minSize < 1 {
		minSize = 1
	}
	if uint64(n)*uint64(minSize) > uint64(d.Remaining()) {
		return 0, fmt.Errorf("%w: length %d needs %d bytes, %d remain", ErrTooLong, n, uint64(n)*uint64(minSize), d.Remaining())
	}
	return int(n), nil
}

// Count reads the length of a variable-length array of at most max
// elements, each at least minSize bytes on the wire.
func (d *Decoder) Count(max uint32, minSize int) (int, error) {
	return d.length(max, minSize)
}

// padded reads n bytes and their zero padding to a multiple of four.
func (d *Decoder) padded(n int) ([]byte, error) {
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	pad, err := d.take((4 - n%4) % 4)
	if err != nil {
		return nil, err
	}
	for _, c := range pad {
		if c != 0 {
			return nil, fmt.Errorf("%w after %d bytes", ErrPadding, n)
		}
	}
	return b, nil
}

// String reads a string of at most max bytes with no NUL in it.
func (d *Decoder) String(max uint32) (string, error) {
	n, err := d.length(max, 1)
	if err != nil {
		return "", err
	}
	b, err := d.padded(n)
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return "", fmt.Errorf("%w at byte %d of %d", ErrNUL, i, n)
	}
	return string(b), nil
}

// Opaque reads variable-length opaque data of at most max bytes.
func (d *Decoder) Opaque(max uint32) ([]byte, error) {
	n, err := d.length(max, 1)
	if err != nil {
		return nil, err
	}
	b, err := d.padded(n)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, b...), nil
}

// FixedOpaque fills dst with fixed-length opaque data.
func (d *Decoder) FixedOpaque(dst []byte) error {
	b, err := d.padded(len(dst))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

// Unbounded is the maximum length of a variable-length item declared
// without one (<>); the bytes remaining still bound it.
const Unbounded = ^uint32(0)
