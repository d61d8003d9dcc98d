// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"strconv"
)

// kind says how a field's value is written.
type kind uint8

const (
	literal  kind = iota // trusted text, written as is: yes/no, ?
	token                // a name from a fixed vocabulary: bare when it looks like one
	text                 // untrusted: quoted, or hex when it could mislead a parser
	uuidKind             // bare when it looks like a UUID, else hex
	number               // an integer (num), in decimal
)

// field is one name=value of a record; a number's value is num, any
// other's val.
type field struct {
	name string
	val  string
	num  int64
	kind kind

	// What measure found: how val is written (out in form how) and
	// its length then, so that writing does not look at val again.
	how form
	out string
	w   int
}

// form is how a value is written.
type form uint8

const (
	bare   form = iota
	quoted      // "value"
	hexed       // upper-case hex of every byte
)

// shape returns what of v of kind k is written, and how. Only a token
// longer than maxToken costs an allocation (its cut copy).
func shape(k kind, v string) (string, form) {
	switch k {
	case token:
		if len(v) > maxToken {
			v = v[:maxToken] + truncMark
		}
		switch {
		case v == "":
			return "?", bare
		case isToken(v):
			return v, bare
		}
		return v, quoting(v)
	case text:
		return v, quoting(v)
	case uuidKind:
		if isUUID(v) {
			return v, bare
		}
		return v, hexed
	}
	return v, bare
}

// quoting says how an untrusted value is written: the way libaudit's
// audit_encode_nv_string does, "value" or hex, but also hex when it holds
// an apostrophe or '=': ausearch finds fields by substring search, so a
// quoted `res=failed` would be read as the result, and an apostrophe ends
// the kernel's msg='...'.
func quoting(v string) form {
	if needsHex(v) {
		return hexed
	}
	return quoted
}

// width returns the length of v of kind k as written.
func width(k kind, v string) int { return formWidth(shape(k, v)) }

func formWidth(s string, f form) int {
	switch f {
	case quoted:
		return len(s) + 2
	case hexed:
		return 2 * len(s)
	}
	return len(s)
}

// measure works out how f's value is written, and its length.
func (f *field) measure() {
	if f.kind == number {
		f.w = decimalWidth(f.num)
		return
	}
	f.out, f.how = shape(f.kind, f.val)
	f.w = formWidth(f.out, f.how)
}

// measureLike measures f, taking what was found for p, the field at f's
// place in the record formatted before, when the two have one value:
// how a value is written depends on its kind and text alone.
func (f *field) measureLike(p *field) {
	if f.kind != number && f.kind == p.kind && f.val == p.val {
		f.out, f.how, f.w = p.out, p.how, p.w
		return
	}
	f.measure()
}

// decimalWidth returns the length of n in decimal.
func decimalWidth(n int64) int {
	w, u := 1, uint64(n)
	if n < 0 {
		w, u = 2, -u // -u is |n| as an unsigned number, even for the most negative n
	}
	for ; u >= 10; u /= 10 {
		w++
	}
	return w
}

// append appends f's value, as measure found it, to b.
func (f *field) append(b []byte) []byte {
	if f.kind == number {
		return strconv.AppendInt(b, f.num, 10)
	}
	switch f.how {
	case quoted:
		return append(append(append(b, '"'), f.out...), '"')
	case hexed:
		return appendHex(b, f.out)
	}
	return append(b, f.out...)
}

func needsHex(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c >= 0x7f || c == '"' || c == '\'' || c == '=' {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

func appendHex(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		b = append(b, hexDigits[v[i]>>4], hexDigits[v[i]&0x0f])
	}
	return b
}

func hexUpper(v string) string { return string(appendHex(make([]byte, 0, 2*len(v)), v)) }

// isToken reports whether v can be written bare: letters, digits and
// "_.-," (a driver stack is "none,polkit"), not ending in ',' which auparse
// strips.
func isToken(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-' || c == ','
		if !ok {
			return false
		}
	}
	return v != "" && v[len(v)-1] != ','
}

// isUUID reports whether v can be written bare as uuid=: ausearch reads the
// value up to a space or ':' and compares it literally.
func isUUID(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-') {
			return false
		}
	}
	return true
}

// render returns v of kind k as written.
func render(k kind, v string) string {
	f := field{val: v, kind: k}
	f.measure()
	return string(f.append(make([]byte, 0, f.w)))
}

// quote returns an untrusted value as written: quoted, or hex.
func quote(v string) string { return render(text, v) }
