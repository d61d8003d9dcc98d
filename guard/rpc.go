// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// RemoteError is an error libvirtd answered a call of the guard's with.
type RemoteError struct {
	Proc string
	Body *frame.ErrorBody
}

func (e *RemoteError) Error() string { return fmt.Sprintf("libvirtd: %s: %s", e.Proc, e.Body.Error()) }

// lookupClient is the guard's own connection to libvirtd for one client
// session: opened read-only with the client's URI after the client's
// CONNECT_OPEN succeeded, used for the lookups that name the objects the
// client's calls act on. It is safe for concurrent use.
type lookupClient struct {
	w     *wire
	table *proto.Table

	mu      sync.Mutex
	serial  uint32
	pending map[uint32]chan *frame.Message
	err     error // set once the connection failed
	done    chan struct{}
}

// dialLookup connects to libvirtd at path and opens the connection
// read-only with name.
func dialLookup(ctx context.Context, path string, table *proto.Table, name *string, flags uint32) (*lookupClient, error) {
	return dialLibvirtd(ctx, path, table, name, flags|connectRO)
}

// dialLibvirtd connects to libvirtd at path and opens the connection with
// name and flags, as root: read-write unless flags say otherwise. Only
// the guard's own calls go on it (createown.go).
func dialLibvirtd(ctx context.Context, path string, table *proto.Table, name *string, flags uint32) (*lookupClient, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to libvirtd: %w", err)
	}
	if err := authUpstream(ctx, nc, table); err != nil {
		nc.Close()
		return nil, err
	}
	c := &lookupClient{w: newWire(nc.(*net.UnixConn)), table: table,
		pending: map[uint32]chan *frame.Message{}, done: make(chan struct{})}
	go c.readLoop()
	args := &proto.RemoteConnectOpenArgs{Name: name, Flags: flags}
	if err := c.call(ctx, proto.RemoteProcConnectOpen, args, nil); err != nil {
		c.close()
		return nil, fmt.Errorf("open a connection of the guard's own: %w", err)
	}
	return c, nil
}

func (c *lookupClient) close() {
	c.w.close()
	<-c.done
}

func (c *lookupClient) readLoop() {
	defer close(c.done)
	for {
		m, fds, err := c.w.read()
		closeFDs(fds) // the guard's lookups never take descriptors
		if err != nil {
			c.fail(err)
			return
		}
		switch {
		case m.Header.Prog == frame.KeepaliveProgram:
			if m.Header.Proc == frame.KeepalivePing {
				if err := c.w.write(pong(), nil); err != nil {
					c.fail(err)
					return
				}
			}
		case m.Header.Type == frame.Reply:
			c.mu.Lock()
			ch := c.pending[m.Header.Serial]
			delete(c.pending, m.Header.Serial)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

func (c *lookupClient) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = fmt.Errorf("lookup connection: %w", err)
	}
	for s, ch := range c.pending {
		close(ch)
		delete(c.pending, s)
	}
}

// call calls a REMOTE procedure and decodes its reply into ret (nil for
// none). An error reply is a *RemoteError.
func (c *lookupClient) call(ctx context.Context, num proto.RemoteProcedure, args, ret proto.Message) error {
	p, ok := c.table.Lookup(proto.Remote, int32(num))
	if !ok {
		return fmt.Errorf("procedure %d unknown", num)
	}
	body := []byte(nil)
	if args != nil {
		var err error
		if body, err = proto.Marshal(args); err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
	}
	ch := make(chan *frame.Message, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.serial++
	serial := c.serial
	c.pending[serial] = ch
	c.mu.Unlock()
	m := &frame.Message{Header: frame.Header{Prog: uint32(proto.Remote), Vers: proto.Remote.Version(),
		Proc: int32(num), Type: frame.Call, Serial: serial}, Body: body}
	if err := c.w.write(m, nil); err != nil {
		c.fail(err)
		return err
	}
	var reply *frame.Message
	select {
	case reply = <-ch:
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, serial)
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", p.Name(), ctx.Err())
	}
	if reply == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	}
	return decodeReply(p, reply, ret)
}

// decodeReply decodes a reply to p: its result into ret, or its error as
// a *RemoteError.
func decodeReply(p *proto.Procedure, reply *frame.Message, ret proto.Message) error {
	if reply.Header.Proc != p.Number() {
		return fmt.Errorf("%s: reply for procedure %d", p.Name(), reply.Header.Proc)
	}
	switch reply.Header.Status {
	case frame.OK:
	case frame.Error:
		body, err := frame.ParseError(reply.Body)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		return &RemoteError{Proc: p.Name(), Body: body}
	default:
		return fmt.Errorf("%s: reply status %s", p.Name(), reply.Header.Status)
	}
	if ret == nil {
		ret = &proto.Void{}
	}
	if err := proto.Unmarshal(reply.Body, ret); err != nil {
		return fmt.Errorf("%s reply: %w", p.Name(), err)
	}
	return nil
}

// pong is the answer to a keepalive PING (src/rpc/virkeepalive.c
// virKeepAliveMessage: type MESSAGE, serial 0).
func pong() *frame.Message {
	return &frame.Message{Header: frame.Header{Prog: frame.KeepaliveProgram, Vers: frame.KeepaliveVersion,
		Proc: frame.KeepalivePong, Type: frame.Event}}
}

// keepalive handles a keepalive message read from w, on either side: a
// PING is answered on w at once, never queued behind a decision; a PONG
// needs nothing. Keepalive carries no descriptors.
func keepalive(w *wire, h frame.Header, fds []int) error {
	closeFDs(fds)
	if h.Proc == frame.KeepalivePing {
		return w.write(pong(), nil)
	}
	return nil
}

var errClosed = errors.New("session closed")
