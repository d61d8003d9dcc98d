// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/identity"
)

const testIface = "org.example.test"

// echo is a test interface: Echo returns its text, Slow waits for release
// first, Peer returns the caller's credentials.
func echo(release <-chan struct{}) Interface {
	return Interface{
		Name:        testIface,
		Description: "interface org.example.test\nmethod Echo(text: string) -> (text: string)\n",
		Methods: map[string]MethodFunc{
			"Echo": func(_ context.Context, c *Call) (any, error) {
				var in struct {
					Text string `json:"text"`
				}
				if err := c.Decode(&in); err != nil {
					return nil, err
				}
				if in.Text == "fail" {
					return nil, &Error{Name: testIface + ".Failed"}
				}
				return in, nil
			},
			"Slow": func(context.Context, *Call) (any, error) {
				<-release
				return map[string]bool{"done": true}, nil
			},
			"Peer": func(ctx context.Context, _ *Call) (any, error) {
				p, _ := PeerFrom(ctx)
				return p, nil
			},
		},
	}
}

func serve(t *testing.T, opts Options, release <-chan struct{}) (*Server, string) {
	t.Helper()
	return serveInterface(t, opts, echo(release))
}

// serveInterface serves iface on a new socket until the test ends, and
// returns the server and the socket's path.
func serveInterface(t *testing.T, opts Options, iface Interface) (*Server, string) {
	t.Helper()
	opts.ProtocolError = func(reason string) *Error {
		return &Error{Name: testIface + ".InvalidRequest", Parameters: map[string]string{"reason": reason}}
	}
	s, err := NewServer(opts, iface)
	if err != nil {
		t.Fatal(err)
	}
	return s, listen(t, s)
}

// listen serves s on a socket of its own until the test ends, and
// returns the socket's path.
func listen(tb testing.TB, s *Server) string {
	path := filepath.Join(tb.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			tb.Errorf("Serve: %v", err)
		}
	})
	return path
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// raw sends bytes on a fresh connection and returns the one reply and
// whether the server closed the connection after it.
func raw(t *testing.T, path, data string) (reply map[string]any, closed bool) {
	t.Helper()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	go nc.Write([]byte(data)) // may block on an oversized message the server stops reading
	r := bufio.NewReader(nc)
	msg, err := r.ReadBytes(0)
	if err != nil {
		t.Fatalf("no reply to %.40q: %v", data, err)
	}
	if err := json.Unmarshal(msg[:len(msg)-1], &reply); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = r.ReadByte()
	return reply, err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestServerHostileInput(t *testing.T) {
	_, path := serve(t, Options{MaxMessageSize: 1024}, nil)
	tests := []struct {
		name      string
		data      string
		wantError string
		wantClose bool
	}{
		{"valid", `{"method":"org.example.test.Echo","parameters":{"text":"hi"}}` + "\x00", "", false},
		{"handler error keeps the connection", `{"method":"org.example.test.Echo","parameters":{"text":"fail"}}` + "\x00", testIface + ".Failed", false},
		{"invalid JSON", "{nope\x00", testIface + ".InvalidRequest", true},
		{"oversized", `{"method":"org.example.test.Echo","parameters":{"text":"` + strings.Repeat("x", 5000) + `"}}` + "\x00", testIface + ".InvalidRequest", true},
		{"unknown interface", `{"method":"org.example.other.Echo"}` + "\x00", ErrInterfaceNotFound, true},
		{"unknown method", `{"method":"org.example.test.Nope"}` + "\x00", ErrMethodNotFound, true},
		{"wrong type", `{"method":"org.example.test.Echo","parameters":{"text":1}}` + "\x00", ErrInvalidParameter, true},
		{"unknown parameter", `{"method":"org.example.test.Echo","parameters":{"txt":"a"}}` + "\x00", ErrInvalidParameter, true},
		{"parameter named twice", `{"method":"org.example.test.Echo","parameters":{"text":"a","text":"b"}}` + "\x00", testIface + ".InvalidRequest", true},
		{"parameter in another case", `{"method":"org.example.test.Echo","parameters":{"TEXT":"a"}}` + "\x00", ErrInvalidParameter, true},
		{"method named twice", `{"method":"org.example.test.Echo","method":"org.example.test.Slow"}` + "\x00", testIface + ".InvalidRequest", true},
		{"invalid UTF-8 in a parameter", "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"text\":\"\xff\"}}\x00", testIface + ".InvalidRequest", true},
		{"upgrade", `{"method":"org.example.test.Echo","upgrade":true}` + "\x00", testIface + ".InvalidRequest", true},
		{"deeply nested", `{"method":"org.example.test.Echo","parameters":{"text":` + strings.Repeat("[", 400) + "\x00", testIface + ".InvalidRequest", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, closed := raw(t, path, tt.data)
			if got, _ := reply["error"].(string); got != tt.wantError {
				t.Errorf("error %q, want %q (reply %v)", got, tt.wantError, reply)
			}
			if closed != tt.wantClose {
				t.Errorf("connection closed: %v, want %v", closed, tt.wantClose)
			}
		})
	}
	// Every other client is still served.
	var out struct {
		Text string `json:"text"`
	}
	if err := dial(t, path).Call(ctx(t), testIface+".Echo", map[string]string{"text": "still here"}, &out); err != nil || out.Text != "still here" {
		t.Fatalf("after hostile clients: %v %+v", err, out)
	}
}

func TestServiceInterface(t *testing.T) {
	_, path := serve(t, Options{Vendor: "v", Product: "p", Version: "1", URL: "u"}, nil)
	c := dial(t, path)
	var info Info
	if err := c.Call(ctx(t), "org.varlink.service.GetInfo", nil, &info); err != nil {
		t.Fatal(err)
	}
	if info.Product != "p" || strings.Join(info.Interfaces, ",") != "org.example.test,org.varlink.service" {
		t.Errorf("info %+v", info)
	}
	var desc struct {
		Description string `json:"description"`
	}
	if err := c.Call(ctx(t), "org.varlink.service.GetInterfaceDescription", map[string]string{"interface": testIface}, &desc); err != nil || !strings.HasPrefix(desc.Description, "interface org.example.test") {
		t.Errorf("description %q, %v", desc.Description, err)
	}
	err := c.Call(ctx(t), "org.varlink.service.GetInterfaceDescription", map[string]string{"interface": "x.y"}, &desc)
	if e, ok := AsError(err); !ok || e.Name != ErrInterfaceNotFound {
		t.Errorf("unknown interface: %v", err)
	}
}

func TestPeerCredentials(t *testing.T) {
	_, path := serve(t, Options{}, nil)
	var p identity.Cred
	if err := dial(t, path).Call(ctx(t), testIface+".Peer", nil, &p); err != nil {
		t.Fatal(err)
	}
	if p.PID != int32(os.Getpid()) || p.UID != uint32(os.Geteuid()) {
		t.Errorf("peer %+v, want pid %d uid %d", p, os.Getpid(), os.Geteuid())
	}
}

func TestReadTimeout(t *testing.T) {
	_, path := serve(t, Options{Timeout: 100 * time.Millisecond}, nil)
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte(`{"method":`)) // and then silence
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a silent client was not disconnected: %v", err)
	}
}

func TestConnectionCap(t *testing.T) {
	active := make(chan int, 16)
	_, path := serve(t, Options{MaxConns: 1, OnActive: func(n int) { active <- n }}, nil)
	first := dial(t, path)
	if err := first.Call(ctx(t), testIface+".Echo", map[string]string{"text": "a"}, nil); err != nil {
		t.Fatal(err)
	}
	second := dial(t, path) // the kernel queues it; the server does not accept it
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := second.Call(short, testIface+".Echo", map[string]string{"text": "b"}, nil); err == nil {
		t.Fatal("a connection over the cap was served")
	}
	first.Close()
	second.Close()
	if err := dial(t, path).Call(ctx(t), testIface+".Echo", map[string]string{"text": "c"}, nil); err != nil {
		t.Fatalf("no connection served after the others closed: %v", err)
	}
}

func TestShutdownAnswersInFlight(t *testing.T) {
	release := make(chan struct{})
	s, path := serve(t, Options{}, release)
	idle := dial(t, path)
	idle.Call(ctx(t), testIface+".Echo", map[string]string{"text": "a"}, nil)
	busy := dial(t, path)
	answered := make(chan error, 1)
	go func() {
		var out struct {
			Done bool `json:"done"`
		}
		err := busy.Call(ctx(t), testIface+".Slow", nil, &out)
		if err == nil && !out.Done {
			err = errors.New("reply without done")
		}
		answered <- err
	}()
	for s.Active() != 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let Slow start
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx(t)) }()
	time.Sleep(50 * time.Millisecond)
	if s.Active() != 1 {
		t.Errorf("%d connections open during shutdown; want the idle one closed", s.Active())
	}
	close(release)
	if err := <-answered; err != nil {
		t.Errorf("in-flight call: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestLargeMessageBufferSpared: once a large message is handled, its
// buffer moves from its connection, waiting for the next, to the server's
// spares, for the next large message whichever connection sends it; at
// most MaxLarge are kept. (TestLargeMessagesReuseASpare: the reader
// keeps none.)
func TestLargeMessageBufferSpared(t *testing.T) {
	s, path := serve(t, Options{MaxLarge: 1}, nil)
	text := strings.Repeat("x", 300_000)
	for i := range 3 {
		var out struct {
			Text string `json:"text"`
		}
		if err := dial(t, path).Call(ctx(t), testIface+".Echo", map[string]string{"text": text}, &out); err != nil || out.Text != text {
			t.Fatalf("call %d: %v, %d bytes back", i, err, len(out.Text))
		}
		// The slot and the buffer are given back just after the reply:
		// the buffer moved (Reader.Release), so the connection has none.
		deadline := time.Now().Add(5 * time.Second)
		for len(s.spare) != 1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := len(s.spare); n != 1 {
			t.Errorf("call %d: %d spare buffers, want 1", i, n)
		}
	}
}
