// SPDX-License-Identifier: Apache-2.0

package frame

import "github.com/virt-acl-helper/virt-acl-helper/internal/xdr"

func decodeOptString(d *xdr.Decoder, field string) (*string, error) {
	present, err := d.Bool()
	if err != nil || !present {
		return nil, xdr.Field(field, err)
	}
	s, err := d.String(MaxString)
	if err != nil {
		return nil, xdr.Field(field, err)
	}
	return &s, nil
}

func encodeOptString(e *xdr.Encoder, field string, s *string) error {
	e.Bool(s != nil)
	if s == nil {
		return nil
	}
	return xdr.Field(field, e.String(*s, MaxString))
}

func decodeOptDomain(d *xdr.Decoder) (*ErrorDomain, error) {
	present, err := d.Bool()
	if err != nil || !present {
		return nil, xdr.Field("dom", err)
	}
	dom := &ErrorDomain{}
	if dom.Name, err = d.String(MaxString); err != nil {
		return nil, xdr.Field("dom", xdr.Field("name", err))
	}
	if err = d.FixedOpaque(dom.UUID[:]); err != nil {
		return nil, xdr.Field("dom", xdr.Field("uuid", err))
	}
	if dom.ID, err = d.Int32(); err != nil {
		return nil, xdr.Field("dom", xdr.Field("id", err))
	}
	return dom, nil
}

func encodeOptDomain(e *xdr.Encoder, dom *ErrorDomain) error {
	e.Bool(dom != nil)
	if dom == nil {
		return nil
	}
	if err := e.String(dom.Name, MaxString); err != nil {
		return xdr.Field("dom", xdr.Field("name", err))
	}
	e.FixedOpaque(dom.UUID[:])
	e.Int32(dom.ID)
	return nil
}

func decodeOptNetwork(d *xdr.Decoder) (*ErrorNetwork, error) {
	present, err := d.Bool()
	if err != nil || !present {
		return nil, xdr.Field("net", err)
	}
	net := &ErrorNetwork{}
	if net.Name, err = d.String(MaxString); err != nil {
		return nil, xdr.Field("net", xdr.Field("name", err))
	}
	if err = d.FixedOpaque(net.UUID[:]); err != nil {
		return nil, xdr.Field("net", xdr.Field("uuid", err))
	}
	return net, nil
}

func encodeOptNetwork(e *xdr.Encoder, net *ErrorNetwork) error {
	e.Bool(net != nil)
	if net == nil {
		return nil
	}
	if err := e.String(net.Name, MaxString); err != nil {
		return xdr.Field("net", xdr.Field("name", err))
	}
	e.FixedOpaque(net.UUID[:])
	return nil
}
