// SPDX-License-Identifier: Apache-2.0

package xdr

import (
	"errors"
	"testing"
)

func TestStringRules(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  uint32
		want string
		err  error
	}{
		{"plain", []byte{0, 0, 0, 3, 'v', 'm', '1', 0}, 10, "vm1", nil},
		{"empty", []byte{0, 0, 0, 0}, 10, "", nil},
		{"aligned", []byte{0, 0, 0, 4, 'a', 'b', 'c', 'd'}, 10, "abcd", nil},
		{"NUL", []byte{0, 0, 0, 4, 'v', 'm', 0, 'x'}, 10, "", ErrNUL},
		{"over max", []byte{0, 0, 0, 4, 'a', 'b', 'c', 'd'}, 3, "", ErrTooLong},
		{"over remaining", []byte{0x00, 0x40, 0, 0, 'a'}, 1 << 30, "", ErrTooLong},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff}, Unbounded, "", ErrTooLong},
		{"padding", []byte{0, 0, 0, 1, 'a', 0, 1, 0}, 10, "", ErrPadding},
		{"missing padding", []byte{0, 0, 0, 1, 'a'}, 10, "", ErrShort},
		{"short", []byte{0, 0}, 10, "", ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewDecoder(tt.in).String(tt.max)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestBoolAcceptsNonzero(t *testing.T) {
	for _, w := range [][]byte{{0, 0, 0, 1}, {1, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}} {
		if v, err := NewDecoder(w).Bool(); err != nil || !v {
			t.Errorf("Bool(% x) = %v, %v; want true", w, v, err)
		}
	}
	if v, err := NewDecoder([]byte{0, 0, 0, 0}).Bool(); err != nil || v {
		t.Errorf("Bool(0) = %v, %v", v, err)
	}
}

func TestSmallIntRanges(t *testing.T) {
	word := func(v uint32) *Decoder {
		return NewDecoder([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	if v, err := word(0xffffff80).Int8(); err != nil || v != -128 {
		t.Errorf("Int8(-128) = %d, %v", v, err)
	}
	if _, err := word(128).Int8(); !errors.Is(err, ErrRange) {
		t.Errorf("Int8(128): %v", err)
	}
	if _, err := word(256).Uint8(); !errors.Is(err, ErrRange) {
		t.Errorf("Uint8(256): %v", err)
	}
	if _, err := word(0x8000).Int16(); !errors.Is(err, ErrRange) {
		t.Errorf("Int16(32768): %v", err)
	}
	if v, err := word(0xffff).Uint16(); err != nil || v != 0xffff {
		t.Errorf("Uint16(65535) = %d, %v", v, err)
	}
}

func TestCountBoundedByInput(t *testing.T) {
	// 1000 elements of at least 8 bytes cannot fit in 1000 bytes.
	in := append([]byte{0, 0, 0x03, 0xe8}, make([]byte, 1000)...)
	if _, err := NewDecoder(in).Count(5000, 8); !errors.Is(err, ErrTooLong) {
		t.Errorf("Count: %v", err)
	}
	if n, err := NewDecoder(in).Count(5000, 0); err != nil || n != 1000 {
		t.Errorf("Count with 1-byte elements: %d, %v", n, err)
	}
}

func TestFinish(t *testing.T) {
	d := NewDecoder([]byte{0, 0, 0, 1, 0})
	if _, err := d.Uint32(); err != nil {
		t.Fatal(err)
	}
	if err := d.Finish(); !errors.Is(err, ErrLeftover) {
		t.Errorf("Finish: %v", err)
	}
}

func TestEncoderLimits(t *testing.T) {
	e := NewEncoder(nil)
	if err := e.String("a\x00b", 10); !errors.Is(err, ErrNUL) {
		t.Errorf("String with NUL: %v", err)
	}
	if err := e.String("abcd", 3); !errors.Is(err, ErrTooLong) {
		t.Errorf("String over max: %v", err)
	}
	if err := e.Opaque([]byte{1, 2, 3}, 2); !errors.Is(err, ErrTooLong) {
		t.Errorf("Opaque over max: %v", err)
	}
	if len(e.Bytes()) != 0 {
		t.Errorf("failed encodes wrote % x", e.Bytes())
	}
	if err := e.String("abcde", 10); err != nil || string(e.Bytes()) != "\x00\x00\x00\x05abcde\x00\x00\x00" {
		t.Errorf("String: % x, %v", e.Bytes(), err)
	}
}

func TestFieldPath(t *testing.T) {
	err := Field("params", Index(2, Field("value", Field("s", ErrNUL))))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "params[2].value.s" || !errors.Is(err, ErrNUL) {
		t.Errorf("got %v", err)
	}
	if Field("x", nil) != nil || Index(1, nil) != nil {
		t.Error("nil error wrapped")
	}
}
