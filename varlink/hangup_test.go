// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHangupCancelsWaitingCall: a call that waits (as one asking polkit
// does) sees its context cancelled when the client hangs up, and a call
// that answers at once, before and after it on the same connection, is
// unaffected.
func TestHangupCancelsWaitingCall(t *testing.T) {
	seen := make(chan error, 1)
	iface := Interface{Name: testIface, Methods: map[string]MethodFunc{
		"Now": func(ctx context.Context, _ *Call) (any, error) { return map[string]bool{"ok": ctx.Err() == nil}, nil },
		"Wait": func(ctx context.Context, _ *Call) (any, error) {
			select {
			case <-ctx.Done():
				seen <- ctx.Err()
			case <-time.After(10 * time.Second):
				seen <- errors.New("not cancelled within 10 s of the hang-up")
			}
			return nil, nil
		},
	}}
	_, path := serveInterface(t, Options{}, iface)
	c := dial(t, path)
	for range 3 { // answered at once: no watch, the next call is read
		var out struct {
			OK bool `json:"ok"`
		}
		if err := c.Call(ctx(t), testIface+".Now", nil, &out); err != nil || !out.OK {
			t.Fatalf("Now: %v, %+v", err, out)
		}
	}
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte(`{"method":"` + testIface + `.Wait"}` + "\x00")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the call is being handled
	nc.Close()
	if err := <-seen; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting call after the hang-up: %v, want context.Canceled", err)
	}
}

// TestHangupWatchIsLazy: a call that never waits starts no watch; one
// that derives a context (as the engine does before asking polkit) does.
// stop cancels the context either way, releasing what was derived from
// it, and leaves the client's next message in the socket.
func TestHangupWatchIsLazy(t *testing.T) {
	for _, wait := range []bool{false, true} {
		a, b := socketPair(t)
		ctx, stop := watchHangup(context.Background(), a)
		h, ok := ctx.(*hangupContext)
		if !ok {
			t.Fatalf("watchHangup on a UNIX socket returned %T", ctx)
		}
		derived := ctx
		if wait {
			var cancel context.CancelFunc
			derived, cancel = context.WithCancel(ctx)
			defer cancel()
		}
		if started := h.watching != nil; started != wait {
			t.Errorf("wait %v: watch started %v", wait, started)
		}
		if _, err := b.Write([]byte("next")); err != nil {
			t.Fatal(err)
		}
		stop()
		if err := derived.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("wait %v: context after stop: %v", wait, err)
		}
		a.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 4)
		if n, err := a.Read(buf); err != nil || string(buf[:n]) != "next" {
			t.Errorf("wait %v: next message after stop: %q, %v", wait, buf[:n], err)
		}
	}
}

// socketPair returns two connected UNIX stream sockets.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close(); os.Remove(path) })
	return a, b
}
