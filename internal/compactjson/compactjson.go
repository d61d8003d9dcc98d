// SPDX-License-Identifier: Apache-2.0

// Package compactjson reads and writes the compact JSON that this
// module's wire types travel in, without reflection. It is a fast path
// beside the JSON library (github.com/go-json-experiment/json), never in
// its place: profiles put the library's reflection first among the
// user-level costs of a cached decision at both ends of the socket.
//
// A Reader accepts a subset of what the library accepts with its strict
// options, and must read it the same; on anything else (whitespace, an
// escaped or control character in a string, null, a number that is not a
// plain non-negative integer, a member named twice or unknown) it gives
// up, and its caller decodes the input with the library, which then
// decides and explains. The appenders write the library's exact bytes or
// report that they cannot. The differential fuzz tests of their users
// (accessapi) hold them to both.
package compactjson

import (
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Reader reads compact JSON from a byte slice. A failure is sticky: once
// something is not in the compact form, every later read fails and Ok
// reports false.
type Reader struct {
	b   []byte
	bad bool
	// interned are strings already read, so that repeated names and
	// values (an object type, an attribute name) share one allocation.
	interned  [maxInterned]string
	ninterned int
}

// NewReader returns a Reader of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Done reports whether everything was read, in the compact form.
func (r *Reader) Done() bool { return !r.bad && len(r.b) == 0 }

// Fail marks the input as not read: a caller that finds what it does not
// accept (an unknown or repeated member) gives up through it.
func (r *Reader) Fail() { r.bad = true }

// take consumes c if it comes next.
func (r *Reader) take(c byte) bool {
	if len(r.b) > 0 && r.b[0] == c {
		r.b = r.b[1:]
		return true
	}
	return false
}

// Member moves to the next member of an object: on the first call (*n ==
// 0) it reads the opening brace, on later ones the comma. It reports
// false at the closing brace, which it reads, or on failure; the caller
// then reads the member's name with Field and its value.
func (r *Reader) Member(n *int) bool { return r.next(n, '{', '}') }

// Elem is Member for the elements of an array.
func (r *Reader) Elem(n *int) bool { return r.next(n, '[', ']') }

func (r *Reader) next(n *int, open, close byte) bool {
	if r.bad {
		return false
	}
	if *n == 0 {
		if !r.take(open) {
			r.bad = true
			return false
		}
		if r.take(close) {
			return false
		}
	} else if !r.take(',') {
		if !r.take(close) {
			r.bad = true
		}
		return false
	}
	*n++
	return true
}

// name reads a member's name and the colon after it. The bytes are the
// input's: compared, not kept.
func (r *Reader) name() []byte {
	name := r.raw()
	if !r.take(':') {
		r.bad = true
	}
	return name
}

// Field reads a member's name and returns its index in names, the
// members the object may have; seen records those read before (bit i for
// names[i]). An unknown name, or one read before, fails r (the library
// refuses both under its strict options) and returns -1.
func (r *Reader) Field(seen *uint64, names ...string) int {
	name := r.name()
	for i, known := range names {
		if known != string(name) {
			continue
		}
		if *seen&(1<<i) != 0 {
			break
		}
		*seen |= 1 << i
		return i
	}
	r.bad = true
	return -1
}

// String reads a string.
func (r *Reader) String() string {
	s := r.raw()
	if r.bad || len(s) == 0 {
		return ""
	}
	return string(s)
}

// Interned reads a string, sharing one copy among the equal strings this
// Reader interned before; for the few values that repeat in a message,
// such as an object type or an attribute name.
func (r *Reader) Interned() string {
	s := r.raw()
	if r.bad || len(s) == 0 {
		return ""
	}
	for _, known := range r.interned[:r.ninterned] {
		if known == string(s) {
			return known
		}
	}
	str := string(s)
	if r.ninterned < maxInterned {
		r.interned[r.ninterned] = str
		r.ninterned++
	}
	return str
}

// InternedName is Name as an interned string, for a name that is kept
// (a map's key).
func (r *Reader) InternedName() string {
	name := r.Interned()
	if !r.take(':') {
		r.bad = true
	}
	return name
}

// maxInterned bounds the strings a Reader interns: the repeated ones of
// a message are few, and a lookup is a scan.
const maxInterned = 16

// raw reads a string that needs no unescaping and returns its bytes. A
// backslash or a control character gives up (the library reads those),
// and so does invalid UTF-8 (the library refuses it).
func (r *Reader) raw() []byte {
	if r.bad || !r.take('"') {
		r.bad = true
		return nil
	}
	ascii := true
	for i, c := range r.b {
		switch {
		case c == '"':
			s := r.b[:i]
			if !ascii && !utf8.Valid(s) {
				r.bad = true
				return nil
			}
			r.b = r.b[i+1:]
			return s
		case c == '\\' || c < 0x20:
			r.bad = true
			return nil
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	r.bad = true
	return nil
}

// Bool reads true or false.
func (r *Reader) Bool() bool {
	switch {
	case r.bad:
	case r.lit("true"):
		return true
	case r.lit("false"):
		return false
	}
	r.bad = true
	return false
}

func (r *Reader) lit(s string) bool {
	if len(r.b) >= len(s) && string(r.b[:len(s)]) == s {
		r.b = r.b[len(s):]
		return true
	}
	return false
}

// Int64 reads a non-negative integer that an int64 holds.
func (r *Reader) Int64() int64 { return int64(r.uint(1<<63 - 1)) }

// Uint64 reads a non-negative integer that a uint64 holds.
func (r *Reader) Uint64() uint64 { return r.uint(1<<64 - 1) }

// uint reads digits without a sign, fraction or exponent, and of at most
// limit; anything else gives up.
func (r *Reader) uint(limit uint64) uint64 {
	if r.bad || len(r.b) == 0 || !isDigit(r.b[0]) {
		r.bad = true
		return 0
	}
	var v uint64
	i := 0
	if r.b[0] == '0' {
		i = 1
	} else {
		for ; i < len(r.b) && isDigit(r.b[i]); i++ {
			d := uint64(r.b[i] - '0')
			if v > (limit-d)/10 {
				r.bad = true
				return 0
			}
			v = v*10 + d
		}
	}
	if i < len(r.b) && (isDigit(r.b[i]) || r.b[i] == '.' || r.b[i] == 'e' || r.b[i] == 'E') {
		r.bad = true
		return 0
	}
	r.b = r.b[i:]
	return v
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// AppendString appends s as a JSON string, as the library writes it. It
// reports false when s is not valid UTF-8, which the library writes with
// replacement characters: the caller then has the library write it all.
func AppendString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendQuoted(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendQuoted is AppendString for a string with characters to escape or
// check.
func appendQuoted(b []byte, s string) ([]byte, bool) {
	out, err := jsontext.AppendQuote(b, s)
	if err != nil {
		return b, false
	}
	return out, true
}

// AppendName appends a member's name and its colon.
func AppendName(b []byte, name string) ([]byte, bool) {
	b, ok := AppendString(b, name)
	return append(b, ':'), ok
}

// AppendBool appends true or false.
func AppendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// AppendInt appends an integer as the library writes it.
func AppendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// AppendUint appends an unsigned integer as the library writes it.
func AppendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }
