// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// procDef is one row of a generated procedure table.
type procDef struct {
	num            int32
	name           string // REMOTE_PROC_...
	generate       string // @generate
	high           bool   // @priority: high
	stream         Stream
	sparseFlag     uint32 // @sparseflag's value
	args, ret, msg func() Message
	noACL          bool // @acl: none
	acl            []ruleDef
	filter         []ruleDef
}

// ruleDef is one generated @acl or @aclfilter rule.
type ruleDef struct {
	text      string
	obj       acl.ObjectType
	perm      string
	flags     uint32 // nonzero: the rule applies only under this flag condition
	flagsNone bool   // the condition is that none of flags is set (else all)
	flagsOf   func(Message) (uint32, bool)
	param     string // nonempty: the rule applies only if this field ...
	value     uint32 // ... equals value (valueNot: differs from it)
	valueNot  bool
	paramOf   func(Message) (uint32, bool)
}

// A Procedure is one procedure of a program. Procedures come from a Table
// and are immutable.
type Procedure struct {
	prog    Program
	def     procDef
	rules   []Rule
	filters []acl.Permission
}

// Program returns the procedure's program.
func (p *Procedure) Program() Program { return p.prog }

// Number returns the procedure number (the header's proc).
func (p *Procedure) Number() int32 { return p.def.num }

// Name returns libvirt's name, such as "REMOTE_PROC_DOMAIN_GET_XML_DESC".
func (p *Procedure) Name() string { return p.def.name }

// String returns the name and number.
func (p *Procedure) String() string { return fmt.Sprintf("%s (%d)", p.def.name, p.def.num) }

// Generate returns the @generate annotation (both, server, client, none).
func (p *Procedure) Generate() string { return p.def.generate }

// HighPriority reports @priority: high (libvirtd may run it on a
// priority worker; it must not block).
func (p *Procedure) HighPriority() bool { return p.def.high }

// Stream reports whether the procedure opens a stream.
func (p *Procedure) Stream() Stream { return p.def.stream }

// SparseFlag returns the flag that makes the procedure's stream sparse
// (allowing STREAM_HOLE packets), or 0.
func (p *Procedure) SparseFlag() uint32 { return p.def.sparseFlag }

// Unchecked reports "@acl: none": libvirt checks no permission for the
// procedure (events, close, authentication, ...).
func (p *Procedure) Unchecked() bool { return p.def.noACL }

// Rules returns the @acl rules; all that apply must allow the call.
func (p *Procedure) Rules() []Rule { return append([]Rule(nil), p.rules...) }

// Filters returns the @aclfilter permissions: objects a list or event
// stream returns are kept only if these allow them.
func (p *Procedure) Filters() []acl.Permission { return append([]acl.Permission(nil), p.filters...) }

// DecodeArgs decodes a call body (Void if the procedure takes none).
func (p *Procedure) DecodeArgs(body []byte) (Message, error) {
	return p.decode("args", p.def.args, body)
}

// DecodeRet decodes a successful reply body (Void if there is none).
func (p *Procedure) DecodeRet(body []byte) (Message, error) {
	return p.decode("ret", p.def.ret, body)
}

// DecodeMsg decodes an event (message type MESSAGE) body.
func (p *Procedure) DecodeMsg(body []byte) (Message, error) {
	if p.def.msg == nil {
		return nil, fmt.Errorf("%s: not an event procedure", p.def.name)
	}
	return p.decode("msg", p.def.msg, body)
}

// NewArgs returns a zero call body for the procedure.
func (p *Procedure) NewArgs() Message { return newBody(p.def.args) }

// NewRet returns a zero reply body for the procedure.
func (p *Procedure) NewRet() Message { return newBody(p.def.ret) }

// NewMsg returns a zero event body, or nil if the procedure is no event.
func (p *Procedure) NewMsg() Message {
	if p.def.msg == nil {
		return nil
	}
	return p.def.msg()
}

func newBody(f func() Message) Message {
	if f == nil {
		return &Void{}
	}
	return f()
}

func (p *Procedure) decode(what string, f func() Message, body []byte) (Message, error) {
	m := newBody(f)
	if err := Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.def.name, what, err)
	}
	return m, nil
}
