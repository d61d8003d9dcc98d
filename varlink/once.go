// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	"reflect"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
)

// methodPrefix is how nearly every client starts a call: the method first.
const methodPrefix = `{"method":"`

// decodeOnce decodes a call and its parameters in one pass, for a method
// whose parameter type is known (Interface.Params) and a message that names
// its method first. It reports false when it cannot, or when the message
// is anything but a well-formed call with known parameters: the caller
// then decodes it in two steps (DecodeCall, then Call.Decode), which give
// the same result for a message this accepts, and the usual error for any
// other. So this pass only has to be strict, never to explain.
func (s *Server) decodeOnce(msg []byte) (Call, bool) {
	name, afterName := leadingMethod(msg)
	m, ok := s.typed[string(name)]
	if !ok {
		return Call{}, false
	}
	method, newParams := m.name, m.newParams
	call := Call{Method: method}
	params := newParams()
	if decodeCompact(afterName, params) {
		call.decoded, call.msg = params, msg
		return call, true
	}
	if !utf8.Valid(msg) {
		return Call{}, false
	}
	// A non-nil pointer in an interface field is decoded into; JSON null
	// sets the field to nil instead, which Decode takes as no parameters.
	wire := struct {
		Method     string `json:"method"`
		Parameters any    `json:"parameters"`
		Oneway     bool   `json:"oneway"`
		More       bool   `json:"more"`
		Upgrade    bool   `json:"upgrade"`
	}{Parameters: params}
	// Strict for the call's members too: this pass gives up on anything
	// the two steps could read otherwise, such as a member it would skip.
	if json.Unmarshal(msg, &wire, strict()) != nil || wire.Method != method {
		return Call{}, false
	}
	call.Oneway, call.More, call.Upgrade = wire.Oneway, wire.More, wire.Upgrade
	call.decoded, call.msg = wire.Parameters, msg
	if call.decoded == nil {
		call.decoded = newParams()
	}
	return call, true
}

// decodeCompact decodes a call into params when the call has just a
// method and parameters and their type reads its own compact JSON
// (CompactUnmarshaler), without the library's reflection. afterName is
// what follows the method's name in the call, as leadingMethod found it.
// It needs no check of the whole message's UTF-8: the method was
// matched, and the type's reader checks each string. False leaves params
// zero.
func decodeCompact(afterName []byte, params any) bool {
	cu, ok := params.(CompactUnmarshaler)
	if !ok {
		return false
	}
	body, ok := compactParams(afterName)
	return ok && cu.UnmarshalCompactJSON(body)
}

// typedMethod is a method whose parameter type is known (Interface.Params).
type typedMethod struct {
	name      string // "interface.Method", the string every call shares
	newParams func() any
}

// leadingMethod returns the method of a message that starts with
// methodPrefix, when the name needs no unescaping (the characters a method
// name may have never do), and what follows the name (from its closing
// quote); or nil. The name is looked up, not kept: the name of a known
// method costs no allocation.
func leadingMethod(msg []byte) (name, afterName []byte) {
	rest, ok := bytes.CutPrefix(msg, []byte(methodPrefix))
	if !ok {
		return nil, nil
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, nil
	}
	return rest[:end], rest[end:]
}

// takeDecoded copies the parameters decoded with the call into v when v
// is of their type, and reports whether it did.
func (c *Call) takeDecoded(v any) bool {
	if c.decoded == nil || reflect.TypeOf(v) != reflect.TypeOf(c.decoded) {
		return false
	}
	reflect.ValueOf(v).Elem().Set(reflect.ValueOf(c.decoded).Elem())
	return true
}
