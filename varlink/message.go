// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Call is one decoded method call.
type Call struct {
	// Method is the fully qualified method, "interface.Method".
	Method string `json:"method"`
	// Parameters is the raw parameter object; nil when the call had none,
	// or when the server decoded them with the call (Interface.Params).
	Parameters json.RawMessage `json:"parameters,omitempty"`
	// Oneway asks for no reply.
	Oneway bool `json:"oneway,omitempty"`
	// More asks for a stream of replies; methods here answer once, which
	// the protocol allows.
	More bool `json:"more,omitempty"`
	// Upgrade asks to leave varlink for another protocol; never supported.
	Upgrade bool `json:"upgrade,omitempty"`

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
// json tags. Unknown parameters and values of the wrong type are an
// org.varlink.service.InvalidParameter error naming the parameter. v must
// point to a zero value.
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
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return InvalidParameter(parameterOf(err))
	}
	return nil
}

// parameterOf names the parameter a decoding error is about, as well as
// encoding/json lets it be found.
func parameterOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(name, `"`)
	}
	return "parameters"
}

// reply is a method reply on the wire.
type reply struct {
	Parameters any    `json:"parameters,omitempty"`
	Continues  bool   `json:"continues,omitempty"`
	Error      string `json:"error,omitempty"`
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
	p, err := json.Marshal(e.Parameters)
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
