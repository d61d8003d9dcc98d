// SPDX-License-Identifier: Apache-2.0

package frame

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/internal/xdr"
)

// Sizes and limits of virnetprotocol.x.
const (
	LenSize    = 4        // VIR_NET_MESSAGE_LEN_MAX: the length word
	HeaderSize = 24       // VIR_NET_MESSAGE_HEADER_MAX
	MaxMessage = 33554432 // VIR_NET_MESSAGE_MAX: header and body, without the length word
	MaxFDs     = 32       // VIR_NET_MESSAGE_NUM_FDS_MAX
	MaxString  = 4194304  // VIR_NET_MESSAGE_STRING_MAX
)

// The keepalive program (src/rpc/virkeepaliveprotocol.x): PING and PONG
// messages without bodies.
const (
	KeepaliveProgram = 0x6b656570 // KEEPALIVE_PROGRAM
	KeepaliveVersion = 1          // KEEPALIVE_PROTOCOL_VERSION
	KeepalivePing    = 1          // KEEPALIVE_PROC_PING
	KeepalivePong    = 2          // KEEPALIVE_PROC_PONG
)

// Type is a message's type (virNetMessageType).
type Type uint32

// The message types.
const (
	Call         Type = 0 // client to server: a call's arguments
	Reply        Type = 1 // server to client: a call's result or error
	Event        Type = 2 // either way: an asynchronous event (VIR_NET_MESSAGE)
	Stream       Type = 3 // either way: stream data
	CallWithFDs  Type = 4 // a Call followed by file descriptors
	ReplyWithFDs Type = 5 // a Reply followed by file descriptors
	StreamHole   Type = 6 // either way: a hole in sparse stream data
)

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool { return t <= StreamHole }

// HasFDs reports whether messages of type t carry the numFDs word.
func (t Type) HasFDs() bool { return t == CallWithFDs || t == ReplyWithFDs }

// String returns libvirt's name of the type.
func (t Type) String() string {
	names := [...]string{"CALL", "REPLY", "MESSAGE", "STREAM", "CALL_WITH_FDS", "REPLY_WITH_FDS", "STREAM_HOLE"}
	if t.Valid() {
		return names[t]
	}
	return fmt.Sprintf("type %d", uint32(t))
}

// Status is a message's status (virNetMessageStatus).
type Status uint32

// The statuses.
const (
	OK       Status = 0 // calls, successful replies, the end of a stream
	Error    Status = 1 // the body is an ErrorBody
	Continue Status = 2 // stream data, more to come
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s <= Continue }

// String returns libvirt's name of the status.
func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Error:
		return "ERROR"
	case Continue:
		return "CONTINUE"
	}
	return fmt.Sprintf("status %d", uint32(s))
}

// Header is the header of every message (virNetMessageHeader).
type Header struct {
	Prog   uint32 // program
	Vers   uint32 // program version
	Proc   int32  // procedure
	Type   Type
	Serial uint32 // a reply's serial is its call's
	Status Status
}

// Check reports a header whose type or status libvirt does not define.
// (XDR decodes any value; libvirtd rejects unknown ones when it acts.)
func (h Header) Check() error {
	if !h.Type.Valid() {
		return fmt.Errorf("header: unknown %s", h.Type)
	}
	if !h.Status.Valid() {
		return fmt.Errorf("header: unknown %s", h.Status)
	}
	return nil
}

func (h *Header) decode(d *xdr.Decoder) error {
	words := [6]uint32{}
	for i := range words {
		v, err := d.Uint32()
		if err != nil {
			return fmt.Errorf("header: %w", err)
		}
		words[i] = v
	}
	*h = Header{Prog: words[0], Vers: words[1], Proc: int32(words[2]),
		Type: Type(words[3]), Serial: words[4], Status: Status(words[5])}
	return nil
}

func (h *Header) encode(e *xdr.Encoder) {
	e.Uint32(h.Prog)
	e.Uint32(h.Vers)
	e.Int32(h.Proc)
	e.Uint32(uint32(h.Type))
	e.Uint32(h.Serial)
	e.Uint32(uint32(h.Status))
}
