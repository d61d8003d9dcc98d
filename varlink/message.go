// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Call is one decoded method call.
type Call struct {
	// Method is the fully qualified method, "interface.Method".
	Method string `json:"method"`
	// Parameters is the raw parameter object; nil when the call had none,
	// or when the server decoded them with the call (Interface.Params).
	Parameters jsontext.Value `json:"parameters,omitzero"`
	// Oneway asks for no reply.
	Oneway bool `json:"oneway,omitzero"`
	// More asks for a stream of replies; methods here answer once, which
	// the protocol allows.
	More bool `json:"more,omitzero"`
	// Upgrade asks to leave varlink for another protocol; never supported.
	Upgrade bool `json:"upgrade,omitzero"`

	// decoded holds the parameters decoded with the call, a pointer of the
	// method's Interface.Params type; msg is the call, to decode again
	// should a handler ask for another type.
	decoded any
	msg     []byte
}

// Interface returns the interface part of the method name.
func (c *Call) Interface() string {
	i := strings.LastIndexByte(c.Method, '.')
	if i < 0 {
		return ""
	}
	return c.Method[:i]
}

// Member returns the method's name within its interface.
func (c *Call) Member() string {
	return c.Method[strings.LastIndexByte(c.Method, '.')+1:]
}

// Decode decodes the call's parameters into v, a pointer to a struct with
// json tags. Unknown parameters, values of the wrong type, a parameter
// named twice and names in another case than the tag's are an
// org.varlink.service.InvalidParameter error naming the parameter (a path
// such as "subject.uid" for a nested one). v must point to a zero value.
func (c *Call) Decode(v any) error {
	if c.takeDecoded(v) {
		return nil
	}
	if c.decoded != nil {
		// Decoded as another type: decode the call's parameters again.
		again, err := DecodeCall(c.msg)
		if err != nil {
			return InvalidParameter("parameters")
		}
		*c = again
	}
	params := c.Parameters
	if len(params) == 0 || bytes.Equal(params, []byte("null")) {
		params = []byte("{}")
	}
	if err := json.Unmarshal(params, v, strict()); err != nil {
		return InvalidParameter(parameterOf(err))
	}
	return nil
}

// parameterOf names the parameter a decoding error is about: the JSON
// pointer the error carries ("/subject/uid"), as a dotted path
// ("subject.uid"), or "parameters" when it points at the whole object.
func parameterOf(err error) string {
	var ptr jsontext.Pointer
	var se *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &se):
		ptr = se.JSONPointer
	case errors.As(err, &syn):
		ptr = syn.JSONPointer
	}
	var path []string
	for tok := range ptr.Tokens() {
		path = append(path, tok)
	}
	if len(path) == 0 {
		return "parameters"
	}
	return clip(strings.Join(path, "."))
}

// reply is a method reply on the wire. Omitted members are those that are
// nil, false or "" (omitzero): "parameters":{} is sent for a method that
// returns nothing, as before.
type reply struct {
	Parameters any    `json:"parameters,omitzero"`
	Continues  bool   `json:"continues,omitzero"`
	Error      string `json:"error,omitzero"`
}

// Error is a varlink error reply: a fully qualified error name and its
// parameters. Handlers return it to answer with that error.
type Error struct {
	Name       string
	Parameters any // marshalled as the reply's parameters; nil for none
}

func (e *Error) Error() string {
	if e.Parameters == nil {
		return "varlink error " + e.Name
	}
	p, err := marshal(e.Parameters)
	if err != nil {
		return "varlink error " + e.Name
	}
	return fmt.Sprintf("varlink error %s %s", e.Name, p)
}

// fatal marks an error after which the server closes the connection.
type fatal struct{ e *Error }

func (f fatal) Error() string { return f.e.Error() }
func (f fatal) Unwrap() error { return f.e }

// Fatal returns e marked so that the server closes the connection after
// sending it: the answer to a request that should not have been sent.
func Fatal(e *Error) error { return fatal{e} }

func isFatal(err error) bool {
	var f fatal
	return errors.As(err, &f)
}

// The errors of org.varlink.service, which every service may return.
const (
	ErrInterfaceNotFound    = "org.varlink.service.InterfaceNotFound"
	ErrMethodNotFound       = "org.varlink.service.MethodNotFound"
	ErrMethodNotImplemented = "org.varlink.service.MethodNotImplemented"
	ErrInvalidParameter     = "org.varlink.service.InvalidParameter"
	ErrPermissionDenied     = "org.varlink.service.PermissionDenied"
)

// InvalidParameter returns the fatal org.varlink.service.InvalidParameter
// error naming parameter.
func InvalidParameter(parameter string) error {
	return Fatal(&Error{Name: ErrInvalidParameter, Parameters: map[string]string{"parameter": parameter}})
}
