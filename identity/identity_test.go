// SPDX-License-Identifier: Apache-2.0

package identity

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

func TestPeerCred(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()
	c, err := PeerCred(server)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Cred{PID: int32(os.Getpid()), UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}); c != want {
		t.Errorf("PeerCred = %+v, want %+v", c, want)
	}

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := PeerCred(a); err == nil {
		t.Error("PeerCred of a connection that is no UNIX socket succeeded")
	}
}

var (
	alice = proc.Process{PID: 100, UID: 1000, StartTime: 5}
	bob   = proc.Process{PID: 200, UID: 1001, StartTime: 7}
)

// table is a Resolver over a fixed process table.
func table() Resolver {
	procs := map[int32]proc.Process{alice.PID: alice, bob.PID: bob}
	return Resolver{Lookup: func(pid int32) (proc.Process, error) {
		if p, ok := procs[pid]; ok {
			return p, nil
		}
		return proc.Process{}, proc.ErrNoProcess
	}}
}

func TestCaller(t *testing.T) {
	tests := []struct {
		name    string
		cred    Cred
		want    proc.Process
		wantErr error // nil: no error; errAny: any error
	}{
		{"the peer", Cred{PID: 100, UID: 1000}, alice, nil},
		{"pid reused by another uid", Cred{PID: 100, UID: 1001}, proc.Process{}, ErrMismatch},
		{"gone", Cred{PID: 999, UID: 1000}, proc.Process{}, proc.ErrNoProcess},
		{"another pid namespace", Cred{PID: 0, UID: 1000}, proc.Process{}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := table().Caller(tt.cred)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("Caller = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPinned(t *testing.T) {
	uid := func(v int64) *int64 { return &v }
	start := func(v uint64) *uint64 { return &v }
	tests := []struct {
		name    string
		pin     Pin
		want    proc.Process
		wantErr error
	}{
		{"itself", Pin{PID: 100}, alice, nil},
		{"itself, pinned", Pin{PID: 100, UID: uid(1000), StartTime: start(5)}, alice, nil},
		{"itself, wrong start time", Pin{PID: 100, StartTime: start(6)}, proc.Process{}, ErrMismatch},
		{"another, unpinned", Pin{PID: 200}, proc.Process{}, ErrUnpinned},
		{"another, only the start time", Pin{PID: 200, StartTime: start(7)}, proc.Process{}, ErrUnpinned},
		{"another, uid pinned", Pin{PID: 200, UID: uid(1001)}, bob, nil},
		{"another, pinned", Pin{PID: 200, UID: uid(1001), StartTime: start(7)}, bob, nil},
		{"another, wrong start time", Pin{PID: 200, UID: uid(1001), StartTime: start(8)}, proc.Process{}, ErrMismatch},
		{"another, wrong uid", Pin{PID: 200, UID: uid(1000)}, proc.Process{}, ErrMismatch},
		{"a uid no process has", Pin{PID: 200, UID: uid(-1)}, proc.Process{}, ErrMismatch},
		{"no such process", Pin{PID: 999, UID: uid(1000)}, proc.Process{}, proc.ErrNoProcess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := table().Pinned(alice, tt.pin)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("Pinned = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestPinnedFromNestedNamespace: a caller in a pid namespace below ours
// names pids of its own namespace; only naming itself is accepted.
func TestPinnedFromNestedNamespace(t *testing.T) {
	r := table()
	r.NSDepth = 1
	nested := alice
	nested.NSDepth = 2
	one := int64(1001)
	if _, err := r.Pinned(nested, Pin{PID: 200, UID: &one}); !errors.Is(err, ErrForeignNamespace) {
		t.Errorf("nested caller naming another pid: err = %v, want ErrForeignNamespace", err)
	}
	if got, err := r.Pinned(nested, Pin{PID: nested.PID}); err != nil || got != nested {
		t.Errorf("nested caller naming itself: %+v, %v", got, err)
	}
	same := alice
	same.NSDepth = 1
	if _, err := r.Pinned(same, Pin{PID: 200, UID: &one}); err != nil {
		t.Errorf("caller in our namespace: %v", err)
	}
}

var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("err = %v, want none", err)
	case want == errAny && err == nil, want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("err = %v, want %v", err, want)
	}
}
