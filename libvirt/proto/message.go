// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"github.com/virt-acl-helper/virt-acl-helper/internal/xdr"
)

// A Message is the XDR body of a call, reply or event: one of the
// generated *Args, *Ret and *Msg types, or Void.
type Message interface {
	// DecodeXDR reads the message from d; it leaves the check for
	// leftover bytes to the caller (Unmarshal).
	DecodeXDR(d *xdr.Decoder) error
	// EncodeXDR appends the message to e, with the limits decoding
	// applies.
	EncodeXDR(e *xdr.Encoder) error
}

// Void is the empty body of a procedure without arguments or result.
type Void struct{}

// DecodeXDR reads nothing.
func (*Void) DecodeXDR(*xdr.Decoder) error { return nil }

// EncodeXDR appends nothing.
func (*Void) EncodeXDR(*xdr.Encoder) error { return nil }

// Unmarshal decodes body into m; bytes left after m are an error.
func Unmarshal(body []byte, m Message) error {
	d := xdr.NewDecoder(body)
	if err := m.DecodeXDR(d); err != nil {
		return err
	}
	return d.Finish()
}

// Marshal encodes m.
func Marshal(m Message) ([]byte, error) {
	e := xdr.NewEncoder(nil)
	if err := m.EncodeXDR(e); err != nil {
		return nil, err
	}
	return e.Bytes(), nil
}
