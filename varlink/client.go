// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Client is a connection to a varlink service on a UNIX socket. Calls are
// made one at a time; a Client is safe for concurrent use.
type Client struct {
	mu sync.Mutex
	nc net.Conn
	r  *Reader
	// wbuf is the buffer of the last call written, reused (see
	// maxKeptBuffer).
	wbuf []byte
	// broken is why the connection cannot carry another call: a call
	// failed in its middle, and its reply may yet arrive, where the next
	// call would read it as its own.
	broken error
}

// Dial connects to the service listening on the UNIX socket at path.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return &Client{nc: nc, r: NewReader(nc, DefaultMaxMessageSize)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.nc.Close() }

// Call calls method with in as parameters (a struct or map; nil for none)
// and decodes the reply's parameters into out (nil to ignore them). An
// error reply is returned as an *Error whose Parameters is a
// jsontext.Value. ctx's deadline bounds the whole call. Pass out as a
// pointer to a zero value: a successful reply replaces it; after an
// error, nothing of the reply is in it (it is zero, or still holds what
// it held). A call that fails in its middle (ctx ending, the connection
// failing) closes the connection, and later calls fail: its reply could
// otherwise be read as theirs.
//
// Reply members out does not have are ignored, so that a newer service
// may add some; a member named twice, invalid UTF-8 or data after the
// reply fail the call.
func (c *Client) Call(ctx context.Context, method string, in, out any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return fmt.Errorf("varlink: call %s: the connection is closed since an earlier call failed (%w); dial again", method, c.broken)
	}
	msg, err := c.encodeCall(method, in)
	if err != nil {
		return fmt.Errorf("varlink: encode call of %s: %w", method, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("varlink: call %s: %w", method, err)
	}
	stop := c.watch(ctx)
	defer stop()
	if _, err := c.nc.Write(msg); err != nil {
		return c.failed(ctx, method, err)
	}
	b, err := c.r.ReadMessage()
	if err != nil {
		return c.failed(ctx, method, err)
	}
	return decodeReply(method, b, out)
}

// encodeCall returns the message of a call, in c's buffer when the
// parameters write themselves (CompactMarshaler).
func (c *Client) encodeCall(method string, in any) ([]byte, error) {
	if b, ok := appendCall(c.wbuf[:0], method, in); ok {
		if cap(b) <= maxKeptBuffer {
			c.wbuf = b
		}
		return b, nil
	}
	return encode(request{Method: method, Parameters: in})
}

// request is a call on the wire, its parameters marshalled with it.
type request struct {
	Method     string `json:"method"`
	Parameters any    `json:"parameters,omitzero"`
}

// decodeReply decodes a reply into out in one pass. Out is written only
// when the reply is a success: an error reply whose parameters out could
// take (an "allowed" beside the error) must not leave them in out. The
// compact path gets this from the reply form it accepts (parameters and
// nothing else) and from CompactUnmarshaler's zeroing of what it gives up
// on; the library path decodes into a fresh value and copies it into out
// once the reply proved to be no error. A reply that is not a success is
// decoded again to tell which it is: an *Error, or a malformed reply.
func decodeReply(method string, b []byte, out any) error {
	if out == nil {
		out = new(jsontext.Value)
	}
	if cu, ok := out.(CompactUnmarshaler); ok {
		if params, ok := compactReply(b); ok && cu.UnmarshalCompactJSON(params) {
			return nil
		}
	}
	dst := reflect.ValueOf(out)
	if dst.Kind() != reflect.Pointer || dst.IsNil() {
		return fmt.Errorf("varlink: reply to %s: cannot decode into %T, not a non-nil pointer", method, out)
	}
	fresh := reflect.New(dst.Type().Elem())
	// A non-nil pointer in an interface member is decoded into.
	typed := struct {
		Parameters any    `json:"parameters"`
		Error      string `json:"error"`
	}{Parameters: fresh.Interface()}
	if json.Unmarshal(b, &typed) == nil && typed.Error == "" {
		dst.Elem().Set(fresh.Elem())
		return nil
	}
	return replyFailure(method, b, fresh.Interface())
}

// replyFailure returns why reply b to method is no success, decoding its
// parameters into scratch (never the caller's out) for the error that
// names the member out cannot take.
func replyFailure(method string, b []byte, scratch any) error {
	var r struct {
		Parameters jsontext.Value `json:"parameters"`
		Error      string         `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("varlink: malformed reply to %s: %w", method, err)
	}
	if r.Error != "" {
		return &Error{Name: r.Error, Parameters: r.Parameters}
	}
	if err := json.Unmarshal(r.Parameters, scratch); err != nil {
		return fmt.Errorf("varlink: reply to %s: %w", method, err)
	}
	return fmt.Errorf("varlink: malformed reply to %s", method)
}

// watch applies ctx's end to the call under way: once ctx is done (its
// deadline passed, or it was cancelled) the connection's deadline is set
// to now, which fails the write or read in progress. The context's own
// timer does the timing: a socket deadline per call cost the runtime two
// timer updates on every call. stop ends the watch; if the watch fired
// during a call that completed all the same, stop clears the deadline it
// set, so that it cannot fail the next call.
func (c *Client) watch(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	stopWatch := context.AfterFunc(ctx, func() {
		c.nc.SetDeadline(time.Now())
		close(fired)
	})
	return func() {
		if !stopWatch() {
			<-fired
			c.nc.SetDeadline(time.Time{})
		}
	}
}

// failed ends a call that failed in its middle, and with it the
// connection: what it wrote or read of the call is unknown.
func (c *Client) failed(ctx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err() // the connection's deadline was set by watch
	}
	c.broken = err
	c.nc.Close()
	return fmt.Errorf("varlink: call %s: %w", method, err)
}

// ErrorParameters decodes the parameters of an error reply into v.
func (e *Error) ErrorParameters(v any) error {
	raw, ok := e.Parameters.(jsontext.Value)
	if !ok {
		b, err := marshal(e.Parameters)
		if err != nil {
			return err
		}
		raw = b
	}
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// AsError returns the varlink error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	return e, errors.As(err, &e)
}
