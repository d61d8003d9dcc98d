// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeReply(t *testing.T) {
	type out struct {
		Allowed bool `json:"allowed"`
	}
	tests := []struct {
		name      string
		reply     string
		want      out
		wantError string // an *Error of this name
		wantFail  string // another error mentioning this
	}{
		{"parameters", `{"parameters":{"allowed":true}}`, out{true}, "", ""},
		{"no parameters", `{}`, out{}, "", ""},
		{"null parameters", `{"parameters":null}`, out{}, "", ""},
		{"member out lacks", `{"parameters":{"allowed":true,"new":1}}`, out{true}, "", ""},
		{"error first", `{"error":"a.Failed","parameters":{"reason":"x"}}`, out{}, "a.Failed", ""},
		{"error last", `{"parameters":{"reason":"x"},"error":"a.Failed"}`, out{}, "a.Failed", ""},
		{"error with parameters out could take", `{"parameters":{"allowed":true},"error":"a.Failed"}`, out{}, "a.Failed", ""},
		{"wrong type", `{"parameters":{"allowed":"yes"}}`, out{}, "", "reply to a.B"},
		{"named twice", `{"parameters":{"allowed":false,"allowed":true}}`, out{}, "", "malformed reply"},
		{"another case", `{"parameters":{"Allowed":true}}`, out{}, "", ""},
		{"trailing data", `{"parameters":{"allowed":true}} {}`, out{}, "", "malformed reply"},
		{"not JSON", `nope`, out{}, "", "malformed reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got out
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
			case got != tt.want:
				t.Errorf("decoded %+v, want %+v", got, tt.want)
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
