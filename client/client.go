// SPDX-License-Identifier: Apache-2.0

// Package client calls the helper's daemon over its varlink socket: the
// command line's check, flush and stats use it, and so can any Go program
// that enforces libvirt access control (a libvirt-protocol guard, a
// management tool asking on behalf of its clients).
package client

import (
	"context"
	"os"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// SocketEnv overrides the default socket path.
const SocketEnv = "VIRT_ACL_HELPER_SOCKET"

// SocketPath returns $VIRT_ACL_HELPER_SOCKET, or accessapi.DefaultSocket.
func SocketPath() string {
	if p := os.Getenv(SocketEnv); p != "" {
		return p
	}
	return accessapi.DefaultSocket
}

// Client is a connection to the daemon. Calls run one at a time; it is
// safe for concurrent use. A call that fails in its middle (its context
// ended, the connection failed) closes the connection: every later call
// fails, and the caller dials again.
type Client struct{ vc *varlink.Client }

// Dial connects to the daemon's socket at path.
func Dial(ctx context.Context, path string) (*Client, error) {
	vc, err := varlink.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Client{vc: vc}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.vc.Close() }

// Check asks one question. A policy deny is a Result with Allowed false;
// errors are *varlink.Error values named accessapi.Err*, or connection errors.
// Any error means no allow.
func (c *Client) Check(ctx context.Context, p accessapi.CheckParams) (accessapi.Result, error) {
	var r accessapi.Result
	err := c.vc.Call(ctx, accessapi.Interface+".Check", p, &r)
	if err != nil {
		return accessapi.Result{}, err
	}
	return r, nil
}

// CheckMany asks about many objects for one permission.
func (c *Client) CheckMany(ctx context.Context, p accessapi.CheckManyParams) ([]accessapi.Result, error) {
	var r accessapi.CheckManyReply
	if err := c.vc.Call(ctx, accessapi.Interface+".CheckMany", p, &r); err != nil {
		return nil, err
	}
	return r.Results, nil
}

// Flush drops cached decisions and returns how many.
func (c *Client) Flush(ctx context.Context, p accessapi.FlushParams) (int, error) {
	var r accessapi.FlushReply
	if err := c.vc.Call(ctx, accessapi.Interface+".Flush", p, &r); err != nil {
		return 0, err
	}
	return r.Removed, nil
}

// Stats returns the daemon's counters.
func (c *Client) Stats(ctx context.Context) (accessapi.Stats, error) {
	var s accessapi.Stats
	err := c.vc.Call(ctx, accessapi.Interface+".Stats", nil, &s)
	return s, err
}

// ErrorName returns the varlink error name of err, or "".
func ErrorName(err error) string {
	if e, ok := varlink.AsError(err); ok {
		return e.Name
	}
	return ""
}
