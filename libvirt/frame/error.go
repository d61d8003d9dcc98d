// SPDX-License-Identifier: Apache-2.0

package frame

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/internal/xdr"
)

// libvirt's error codes for the access-denied error (include/libvirt/
// virterror.h).
const (
	ErrAccessDenied = 88 // VIR_ERR_ACCESS_DENIED
	FromAccess      = 55 // VIR_FROM_ACCESS
	LevelError      = 2  // VIR_ERR_ERROR
)

// ErrorDomain is remote_nonnull_domain inside an error (libvirtd never
// fills it).
type ErrorDomain struct {
	Name string
	UUID [16]byte
	ID   int32
}

// ErrorNetwork is remote_nonnull_network inside an error (never filled).
type ErrorNetwork struct {
	Name string
	UUID [16]byte
}

// ErrorBody is the body of a reply with status Error: virNetMessageError
// (remote_error), libvirt's virError on the wire.
type ErrorBody struct {
	Code       int32
	Domain     int32
	Message    *string
	Level      int32
	Dom        *ErrorDomain
	Str1       *string
	Str2       *string
	Str3       *string
	Int1, Int2 int32
	Net        *ErrorNetwork
}

// AccessDenied returns the error libvirtd reports when an access check
// fails: code 88, domain 55, level 2 and the message "access denied: "
// followed by detail. The other fields are set as libvirt's
// virReportErrorHelper (src/util/virerror.c) sets them.
func AccessDenied(detail string) *ErrorBody {
	msg := "access denied: " + detail
	format := "access denied: %s"
	return &ErrorBody{
		Code: ErrAccessDenied, Domain: FromAccess, Level: LevelError,
		Message: &msg, Str1: &format, Str2: &detail, Int1: -1, Int2: -1,
	}
}

// Error returns the message, as virsh shows it.
func (b *ErrorBody) Error() string {
	if b.Message != nil {
		return *b.Message
	}
	return fmt.Sprintf("libvirt error %d (domain %d)", b.Code, b.Domain)
}

// ErrorReply returns the reply to call carrying b: same program, version,
// procedure and serial, type Reply, status Error.
func ErrorReply(call Header, b *ErrorBody) (*Message, error) {
	body, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	h := call
	h.Type, h.Status = Reply, Error
	return &Message{Header: h, Body: body}, nil
}

// ParseError decodes an error body strictly (no bytes may follow).
func ParseError(body []byte) (*ErrorBody, error) {
	d := xdr.NewDecoder(body)
	b := &ErrorBody{}
	if err := b.decode(d); err != nil {
		return nil, fmt.Errorf("remote_error: %w", err)
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("remote_error: %w", err)
	}
	return b, nil
}

// Marshal encodes b.
func (b *ErrorBody) Marshal() ([]byte, error) {
	e := xdr.NewEncoder(nil)
	e.Int32(b.Code)
	e.Int32(b.Domain)
	if err := encodeOptString(e, "message", b.Message); err != nil {
		return nil, err
	}
	e.Int32(b.Level)
	if err := encodeOptDomain(e, b.Dom); err != nil {
		return nil, err
	}
	for i, s := range []*string{b.Str1, b.Str2, b.Str3} {
		if err := encodeOptString(e, fmt.Sprintf("str%d", i+1), s); err != nil {
			return nil, err
		}
	}
	e.Int32(b.Int1)
	e.Int32(b.Int2)
	if err := encodeOptNetwork(e, b.Net); err != nil {
		return nil, err
	}
	return e.Bytes(), nil
}

func (b *ErrorBody) decode(d *xdr.Decoder) error {
	var err error
	if b.Code, err = d.Int32(); err != nil {
		return xdr.Field("code", err)
	}
	if b.Domain, err = d.Int32(); err != nil {
		return xdr.Field("domain", err)
	}
	if b.Message, err = decodeOptString(d, "message"); err != nil {
		return err
	}
	if b.Level, err = d.Int32(); err != nil {
		return xdr.Field("level", err)
	}
	if b.Dom, err = decodeOptDomain(d); err != nil {
		return err
	}
	for i, dst := range []**string{&b.Str1, &b.Str2, &b.Str3} {
		if *dst, err = decodeOptString(d, fmt.Sprintf("str%d", i+1)); err != nil {
			return err
		}
	}
	if b.Int1, err = d.Int32(); err != nil {
		return xdr.Field("int1", err)
	}
	if b.Int2, err = d.Int32(); err != nil {
		return xdr.Field("int2", err)
	}
	b.Net, err = decodeOptNetwork(d)
	return err
}
