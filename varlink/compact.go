// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	"reflect"
)

// CompactMarshaler is implemented by parameter and reply types that write
// their JSON themselves, without the JSON library's reflection: the
// exact bytes it would write, or false, and the library writes them.
type CompactMarshaler interface {
	AppendCompactJSON(b []byte) ([]byte, bool)
}

// CompactUnmarshaler is implemented by pointers to parameter and reply
// types that read their compact JSON themselves: they report true only
// for input they read as the library's strict decoding would, and
// otherwise leave the value zero for the library to decode into.
type CompactUnmarshaler interface {
	UnmarshalCompactJSON(b []byte) bool
}

// The wire envelopes around compact parameters: a call that names its
// method first and has nothing but parameters besides, and a reply of
// nothing but parameters.
const (
	paramsMember = `","parameters":`
	replyPrefix  = `{"parameters":`
)

// appendCall appends the call of method with parameters in, and its NUL,
// as encode writes request{method, in}; false when in cannot write
// itself or method needs escaping.
func appendCall(b []byte, method string, in any) ([]byte, bool) {
	m, ok := in.(CompactMarshaler)
	if !ok || isNilPointer(in) || checkMethodName(method) != nil {
		return b, false
	}
	b = append(b, methodPrefix...)
	b = append(b, method...)
	b = append(b, paramsMember...)
	b, ok = m.AppendCompactJSON(b)
	return append(b, '}', 0), ok
}

// isNilPointer reports a nil pointer in v, which the library writes as
// null and whose methods cannot be called.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// appendReply appends a reply of parameters out, and its NUL, as encode
// writes reply{Parameters: out}; false when out cannot write itself.
func appendReply(b []byte, out any) ([]byte, bool) {
	m, ok := out.(CompactMarshaler)
	if !ok || isNilPointer(out) {
		return b, false
	}
	b = append(b, replyPrefix...)
	b, ok = m.AppendCompactJSON(b)
	return append(b, '}', 0), ok
}

// compactParams returns the parameters of a call that is just
// {"method":...,"parameters":...}, given what follows the method's name
// (leadingMethod matched the rest).
func compactParams(afterName []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(afterName, []byte(paramsMember))
	if !ok {
		return nil, false
	}
	return bytes.CutSuffix(rest, []byte("}"))
}

// compactReply returns the parameters of a reply of nothing else.
func compactReply(msg []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(msg, []byte(replyPrefix))
	if !ok {
		return nil, false
	}
	return bytes.CutSuffix(rest, []byte("}"))
}
