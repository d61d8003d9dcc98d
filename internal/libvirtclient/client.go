// SPDX-License-Identifier: Apache-2.0

// Package libvirtclient makes libvirt RPC calls by hand, one at a time,
// on libvirt/frame and libvirt/proto: for tests and benchmarks that talk
// to libvirtd or the guard without virsh (whose start-up a benchmark
// would measure) and that must send what virsh never would (a forged
// name, a client's own CONNECT_SET_IDENTITY). A Client is not safe for
// concurrent use.
package libvirtclient

import (
	"fmt"
	"net"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// DefaultTimeout bounds the wait for a reply.
const DefaultTimeout = 30 * time.Second

// Client is one connection to a libvirt RPC socket.
type Client struct {
	// Conn is the connection; stream packets may be written and read on
	// it between calls.
	Conn    net.Conn
	Timeout time.Duration
	serial  uint32
}

// Dial connects to the UNIX socket at path.
func Dial(path string) (*Client, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	return &Client{Conn: c, Timeout: DefaultTimeout}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }

// Call sends a call of the remote program and returns its reply, error
// replies included; messages other than the reply (events, stream
// packets) are skipped.
func (c *Client) Call(num proto.RemoteProcedure, args proto.Message) (*frame.Message, error) {
	body, err := proto.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("procedure %d: %w", num, err)
	}
	c.serial++
	h := frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(num), Type: frame.Call, Serial: c.serial}
	if err := frame.Write(c.Conn, &frame.Message{Header: h, Body: body}); err != nil {
		return nil, fmt.Errorf("procedure %d: %w", num, err)
	}
	c.Conn.SetReadDeadline(time.Now().Add(c.Timeout))
	for {
		m, err := frame.Read(c.Conn)
		if err != nil {
			return nil, fmt.Errorf("procedure %d: reply: %w", num, err)
		}
		if m.Header.Type == frame.Reply && m.Header.Serial == c.serial {
			return m, nil
		}
	}
}

// Do makes a call and decodes a successful reply into ret (nil for none);
// an error reply is returned as its *frame.ErrorBody.
func (c *Client) Do(num proto.RemoteProcedure, args, ret proto.Message) error {
	m, err := c.Call(num, args)
	if err != nil {
		return err
	}
	if m.Header.Status != frame.OK {
		eb, err := frame.ParseError(m.Body)
		if err != nil {
			return fmt.Errorf("procedure %d: error reply: %w", num, err)
		}
		return eb
	}
	if ret == nil {
		return nil
	}
	if err := proto.Unmarshal(m.Body, ret); err != nil {
		return fmt.Errorf("procedure %d: reply: %w", num, err)
	}
	return nil
}

// Open opens the connection to uri (CONNECT_OPEN).
func (c *Client) Open(uri string) error {
	return c.Do(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri}, nil)
}

// LookupDomain looks a domain up by name.
func (c *Client) LookupDomain(name string) (proto.RemoteNonnullDomain, error) {
	var ret proto.RemoteDomainLookupByNameRet
	err := c.Do(proto.RemoteProcDomainLookupByName, &proto.RemoteDomainLookupByNameArgs{Name: name}, &ret)
	return ret.Dom, err
}
