// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
)

// TestDecodeReply decodes replies into an out that already holds a
// value: a success replaces it with the reply's parameters, a failure
// leaves it as it was.
func TestDecodeReply(t *testing.T) {
	type out struct {
		Allowed bool   `json:"allowed"`
		Note    string `json:"note"`
	}
	before := out{Note: "before"}
	tests := []struct {
		name      string
		reply     string
		want      out
		wantError string // an *Error of this name
		wantFail  string // another error mentioning this
	}{
		{"parameters", `{"parameters":{"allowed":true}}`, out{Allowed: true}, "", ""},
		{"no parameters", `{}`, out{}, "", ""},
		{"null parameters", `{"parameters":null}`, out{}, "", ""},
		{"member out lacks", `{"parameters":{"allowed":true,"new":1}}`, out{Allowed: true}, "", ""},
		{"error first", `{"error":"a.Failed","parameters":{"reason":"x"}}`, before, "a.Failed", ""},
		{"error last", `{"parameters":{"reason":"x"},"error":"a.Failed"}`, before, "a.Failed", ""},
		{"error after parameters out takes", `{"parameters":{"allowed":true,"note":"x"},"error":"a.Failed"}`, before, "a.Failed", ""},
		{"error before parameters out takes", `{"error":"a.Failed","parameters":{"allowed":true}}`, before, "a.Failed", ""},
		{"wrong type after one out takes", `{"parameters":{"allowed":true,"note":5}}`, before, "", "reply to a.B"},
		{"wrong type", `{"parameters":{"allowed":"yes"}}`, before, "", "reply to a.B"},
		{"named twice", `{"parameters":{"allowed":false,"allowed":true}}`, before, "", "malformed reply"},
		{"another case", `{"parameters":{"Allowed":true}}`, out{}, "", ""},
		{"trailing data", `{"parameters":{"allowed":true}} {}`, before, "", "malformed reply"},
		{"not JSON", `nope`, before, "", "malformed reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := before
			err := decodeReply("a.B", []byte(tt.reply), &got)
			switch e, isErr := AsError(err); {
			case tt.wantError != "":
				if !isErr || e.Name != tt.wantError {
					t.Fatalf("err = %v, want a %s reply", err, tt.wantError)
				}
				var p struct {
					Reason string `json:"reason"`
				}
				if err := e.ErrorParameters(&p); err != nil {
					t.Errorf("error parameters: %v", err)
				}
			case tt.wantFail != "":
				if err == nil || isErr || !strings.Contains(err.Error(), tt.wantFail) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantFail)
				}
			case err != nil:
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("out = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestClientAfterAFailedCall: a call whose context ends while the server
// is still working fails with the context's error and closes the
// connection, so that its late reply is never read as a later call's;
// the later call says why. Calls whose context ends only after they
// returned leave the connection as it was.
func TestClientAfterAFailedCall(t *testing.T) {
	release := make(chan struct{})
	_, path := serve(t, Options{}, release)
	released := false
	t.Cleanup(func() { // whatever failed, Slow ends before the server stops
		if !released {
			close(release)
		}
	})
	c := dial(t, path)
	for range 3 { // contexts that end after their call: no effect
		ctx, cancel := context.WithCancel(context.Background())
		var out struct {
			Text string `json:"text"`
		}
		err := c.Call(ctx, testIface+".Echo", map[string]string{"text": "hi"}, &out)
		cancel()
		if err != nil || out.Text != "hi" {
			t.Fatalf("Echo: %q, %v", out.Text, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, testIface+".Slow", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Slow with a 100 ms deadline: %v, want context.DeadlineExceeded", err)
	}
	close(release) // Slow answers now, to a connection the client closed
	released = true
	var out struct {
		Text string `json:"text"`
	}
	err := c.Call(context.Background(), testIface+".Echo", map[string]string{"text": "again"}, &out)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "dial again") {
		t.Fatalf("Echo after the failed call: %q, %v; want an error naming the earlier failure", out.Text, err)
	}
	if err := dial(t, path).Call(context.Background(), testIface+".Echo", map[string]string{"text": "new"}, &out); err != nil || out.Text != "new" {
		t.Fatalf("Echo on a new connection: %q, %v", out.Text, err)
	}
}

// TestClientCancelRacesTheReply cancels calls while they are under way:
// each either succeeds or fails with context.Canceled, and a call that
// succeeded leaves no deadline behind from a watch that fired meanwhile,
// so the next call on the connection succeeds.
func TestClientCancelRacesTheReply(t *testing.T) {
	_, path := serve(t, Options{}, nil)
	c := dial(t, path)
	canceled := 0
	for i := range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(i%30)*5*time.Microsecond, cancel)
		var out struct {
			Text string `json:"text"`
		}
		err := c.Call(ctx, testIface+".Echo", map[string]string{"text": "hi"}, &out)
		switch {
		case errors.Is(err, context.Canceled):
			canceled++
			c = dial(t, path)
			continue
		case err != nil:
			t.Fatalf("call %d: %v", i, err)
		}
		if err := c.Call(context.Background(), testIface+".Echo", map[string]string{"text": "next"}, &out); err != nil || out.Text != "next" {
			t.Fatalf("the call after call %d: %q, %v", i, out.Text, err)
		}
	}
	if err := c.Call(context.Background(), testIface+".Echo", map[string]string{"text": "x"}, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of 300 calls cancelled", canceled)
}

// TestClientContextDoneBefore: a call whose context already ended sends
// nothing and leaves the connection usable.
func TestClientContextDoneBefore(t *testing.T) {
	_, path := serve(t, Options{}, nil)
	c := dial(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Call(ctx, testIface+".Echo", map[string]string{"text": "hi"}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("call with a cancelled context: %v", err)
	}
	if err := c.Call(context.Background(), testIface+".Echo", map[string]string{"text": "hi"}, nil); err != nil {
		t.Fatalf("the next call: %v", err)
	}
}

// TestClientErrorReplyLeavesOut calls a real server whose method fails
// with parameters the caller's out could take, and a peer that writes an
// error reply byte for byte: the call fails with the error and out, of a
// type that decodes itself (the decision calls') or one the JSON library
// decodes, stays zero. An "allowed" beside an error must never reach the
// caller as if it had been answered.
func TestClientErrorReplyLeavesOut(t *testing.T) {
	refused := &Error{Name: testIface + ".Refused", Parameters: map[string]any{
		"allowed": true, "cached": true, "driver": "polkit",
		"results": []map[string]bool{{"allowed": true}},
	}}
	_, server := serveInterface(t, Options{}, Interface{
		Name:        testIface,
		Description: "interface org.example.test\nmethod Refuse() -> ()\n",
		Methods: map[string]MethodFunc{
			"Refuse": func(context.Context, *Call) (any, error) { return nil, refused },
		},
	})
	const errorFirst = `{"error":"org.example.test.Refused","parameters":{"results":[{"allowed":true}],"allowed":true}}`
	const errorLast = `{"parameters":{"allowed":true,"cached":false,"driver":"polkit"},"error":"org.example.test.Refused"}`
	peers := []struct {
		name string
		path func(*testing.T) string
	}{
		{"server", func(*testing.T) string { return server }},
		{"raw error first", func(t *testing.T) string { return rawPeer(t, errorFirst) }},
		{"raw error last", func(t *testing.T) string { return rawPeer(t, errorLast) }},
	}
	outs := []struct {
		name string
		out  func() any // a pointer to a zero value
	}{
		{"Result", func() any { return new(accessapi.Result) }},
		{"CheckManyReply", func() any { return new(accessapi.CheckManyReply) }},
		{"library-decoded", func() any {
			return new(struct {
				Allowed bool `json:"allowed"`
			})
		}},
	}
	for _, peer := range peers {
		for _, o := range outs {
			t.Run(peer.name+"/"+o.name, func(t *testing.T) {
				out := o.out()
				err := dial(t, peer.path(t)).Call(ctx(t), testIface+".Refuse", nil, out)
				if e, ok := AsError(err); !ok || e.Name != refused.Name {
					t.Fatalf("err = %v, want %s", err, refused.Name)
				}
				if zero := reflect.New(reflect.TypeOf(out).Elem()).Interface(); !reflect.DeepEqual(out, zero) {
					t.Errorf("out = %+v after the error reply, want it untouched", out)
				}
			})
		}
	}
}

// rawPeer listens on a new socket for one connection, and answers its
// first message with reply, written as it is; it returns the socket's
// path.
func rawPeer(t *testing.T, reply string) string {
	path := filepath.Join(t.TempDir(), "raw.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		if _, err := bufio.NewReader(nc).ReadBytes(0); err == nil {
			nc.Write([]byte(reply + "\x00"))
		}
		io.Copy(io.Discard, nc) // until the client hangs up
	}()
	return path
}
