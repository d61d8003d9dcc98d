// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/internal/daemontest"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// TestFaultHelperKilled kills the daemon with SIGKILL under load: clients
// get errors, never an allow they should not have and never a hang; the
// next connection starts a new daemon, which answers.
func TestFaultHelperKilled(t *testing.T) {
	w := newFaultWorld(t, faultConf)
	c := w.d.Dial(t)
	w.warm(t, c)
	l := startLoad(t, w, 16)
	time.Sleep(500 * time.Millisecond)
	pid := w.d.PID()
	killed := time.Now()
	if !w.d.Signal(syscall.SIGKILL) {
		t.Fatal("no daemon to kill")
	}
	w.d.WaitExit(t, pid, 5*time.Second)
	// The next connection, on the same socket, is served by a new daemon.
	fresh := w.d.Dial(t)
	r, err := ask(fresh, w.alice, "alice-after")
	served := time.Since(killed)
	if err != nil || !r.Allowed {
		t.Fatalf("first call after the kill: %+v, %v", r, err)
	}
	time.Sleep(300 * time.Millisecond)
	answers := l.finish()
	t.Logf("daemon %d killed; a new one (pid %d) answered %v later; %v", pid, w.d.PID(), served, tally(answers, time.Time{}, time.Now()))
	checkNoWrongAllow(t, answers, killed, killed) // only timeouts and bob
	if _, err := ask(c, w.alice, "alice-cached"); err == nil {
		t.Error("a connection to the killed daemon still answers")
	}
	if w.d.Starts() != 2 {
		t.Errorf("%d daemons started, want 2", w.d.Starts())
	}
}

// TestFaultHostileClients: clients that hold a connection without
// finishing a request are cut off after client_timeout, and neither they
// nor a flood keep a well-behaved client from an answer. (Malformed and
// oversized messages are daemon/TestHostileClientsLeaveOthersServed.)
func TestFaultHostileClients(t *testing.T) {
	const conf = faultConf + "client_timeout = 1\nmax_clients = 8\n"
	check := `{"method":"` + accessapi.Interface + `.Check","parameters":{"object":{"type":"connect","driver":"QEMU"},"permission":"getattr"}}` + "\x00"
	tests := []struct {
		name  string
		conns int    // hostile connections
		send  string // what each sends, then nothing
		flood bool   // send check forever without reading replies
	}{
		{name: "connects and sends nothing", conns: 1},
		{name: "sends half a message", conns: 1, send: check[:len(check)/2]},
		{name: "more silent connections than max_clients", conns: 12},
		{name: "floods without reading replies", conns: 1, flood: true},
	}
	w := newFaultWorld(t, conf)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hostile []net.Conn
			for range tt.conns {
				nc, err := net.Dial("unix", w.d.Sock)
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				hostile = append(hostile, nc)
				if tt.send != "" {
					nc.Write([]byte(tt.send))
				}
			}
			stopFlood := make(chan struct{})
			if tt.flood {
				go flood(hostile[0], check, stopFlood)
			}
			settle := 100 * time.Millisecond
			if tt.flood {
				settle = 2 * time.Second // let the flood pile up
			}
			time.Sleep(settle)
			start := time.Now()
			good := w.d.Dial(t)
			r, err := ask(good, w.alice, "alice-good")
			took := time.Since(start)
			close(stopFlood)
			if err != nil || !r.Allowed {
				t.Fatalf("a well-behaved client: %+v, %v", r, err)
			}
			t.Logf("the well-behaved client was answered in %v", took)
			if took > 3*time.Second {
				t.Errorf("answer took %v with hostile clients around", took)
			}
			if !tt.flood {
				for _, nc := range hostile {
					wantClosedBy(t, nc, 3*time.Second)
				}
			}
			checkRSS(t, w.d, 128<<20)
		})
	}
}

// flood writes calls without reading a reply until stop or an error.
func flood(nc net.Conn, msg string, stop <-chan struct{}) {
	batch := []byte(strings.Repeat(msg, 64))
	for {
		select {
		case <-stop:
			return
		default:
		}
		nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := nc.Write(batch); err != nil && !isTimeout(err) {
			return
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// wantClosedBy fails unless the daemon closes nc within limit: whatever it
// sends first (an error reply is fine), the connection must reach EOF.
func wantClosedBy(t *testing.T, nc net.Conn, limit time.Duration) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(limit))
	r := varlink.NewReader(nc, 1<<20)
	for {
		_, err := r.ReadMessage()
		if err == nil {
			continue
		}
		if isTimeout(err) {
			t.Errorf("connection still open after %v", limit)
		}
		return
	}
}

// checkRSS fails if the daemon's resident memory is over limit.
func checkRSS(t *testing.T, d *daemontest.Daemon, limit int64) {
	t.Helper()
	rss, err := daemontest.RSS(d.PID())
	if err != nil {
		t.Fatalf("daemon memory: %v", err)
	}
	t.Logf("daemon resident memory %.1f MiB", float64(rss)/(1<<20))
	if rss > limit {
		t.Errorf("daemon resident memory %d MiB, over %d MiB", rss>>20, limit>>20)
	}
}
