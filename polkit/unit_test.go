// SPDX-License-Identifier: Apache-2.0

package polkit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

func TestDecodeResult(t *testing.T) {
	tests := []struct {
		name    string
		body    []any
		want    Result
		wantErr bool
	}{
		{
			name: "authorized",
			body: []any{[]any{true, false, map[string]string{}}},
			want: Result{Authorized: true, Details: map[string]string{}},
		},
		{
			name: "not authorized",
			body: []any{[]any{false, false, map[string]string{}}},
			want: Result{Details: map[string]string{}},
		},
		{
			name: "challenge",
			body: []any{[]any{false, true, map[string]string{}}},
			want: Result{Challenge: true, Details: map[string]string{}},
		},
		{
			name: "dismissed",
			body: []any{[]any{false, false, map[string]string{"polkit.dismissed": "true"}}},
			want: Result{Dismissed: true, Details: map[string]string{"polkit.dismissed": "true"}},
		},
		{
			name: "authorized and challenge is denied",
			body: []any{[]any{true, true, map[string]string{}}},
			want: Result{Challenge: true, Details: map[string]string{}},
		},
		{name: "empty body", body: nil, wantErr: true},
		{name: "wrong types", body: []any{[]any{"yes", false, map[string]string{}}}, wantErr: true},
		{name: "too short", body: []any{[]any{true}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeResult(tt.body)
			if tt.wantErr {
				if err == nil || got.Authorized {
					t.Fatalf("decodeResult(%v) = %+v, %v; want an error and no authorization", tt.body, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeResult(%v): %v", tt.body, err)
			}
			if got.Authorized != tt.want.Authorized || got.Challenge != tt.want.Challenge ||
				got.Dismissed != tt.want.Dismissed || len(got.Details) != len(tt.want.Details) {
				t.Fatalf("decodeResult(%v) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestSubjectWire(t *testing.T) {
	s := Subject{PID: 42, StartTime: 1234567, UID: 1000}
	if want, got := "(sa{sv})", dbus.SignatureOf(s.wire()).String(); want != got {
		t.Fatalf("subject signature = %s, want %s", got, want)
	}
	d := s.wire().Details
	if _, ok := d["pid"].Value().(uint32); !ok {
		t.Errorf("pid is %T, want uint32", d["pid"].Value())
	}
	if _, ok := d["start-time"].Value().(uint64); !ok {
		t.Errorf("start-time is %T, want uint64", d["start-time"].Value())
	}
	if uid, ok := d["uid"].Value().(int32); !ok || uid != 1000 {
		t.Errorf("uid is %T %v, want int32 1000", d["uid"].Value(), d["uid"].Value())
	}
}

func TestSubjectValidate(t *testing.T) {
	tests := []struct {
		s  Subject
		ok bool
	}{
		{Subject{PID: 1, StartTime: 1, UID: 0}, true},
		{Subject{PID: 0, StartTime: 1, UID: 0}, false},
		{Subject{PID: 1, StartTime: 1, UID: 1 << 31}, false},
		{Subject{PID: 1, StartTime: 1, UID: ^uint32(0)}, false},
	}
	for _, tt := range tests {
		if err := tt.s.validate(); (err == nil) != tt.ok {
			t.Errorf("%v.validate() = %v, want ok=%v", tt.s, err, tt.ok)
		}
	}
}

func TestEventQueueCoalesces(t *testing.T) {
	q := newEventQueue()
	if g := q.gen.Load(); g != 0 {
		t.Fatalf("generation of a new queue = %d", g)
	}
	q.push(Event{Reason: PolicyChanged, Detail: "a"})
	q.push(Event{Reason: Disconnected})
	q.push(Event{Reason: PolicyChanged, Detail: "b"})
	q.push(Event{Reason: Reconnected})
	q.push(Event{Reason: Disconnected, Detail: "again"})
	want := []Event{
		{Reason: PolicyChanged, Count: 2, Detail: "b"},
		{Reason: Reconnected, Count: 1},
		{Reason: Disconnected, Count: 2, Detail: "again"},
	}
	for _, w := range want {
		got, ok := q.pop()
		if !ok || got != w {
			t.Fatalf("pop() = %+v, %v; want %+v", got, ok, w)
		}
	}
	if got, ok := q.pop(); ok {
		t.Fatalf("pop() on empty queue = %+v", got)
	}
	if g := q.gen.Load(); g != 5 {
		t.Fatalf("generation after 5 pushes = %d", g)
	}
}

func TestEventQueuePushNeverBlocks(t *testing.T) {
	q := newEventQueue()
	ctx, cancel := context.WithCancel(context.Background())
	go q.run(ctx)
	done := make(chan struct{})
	go func() {
		for range 10000 {
			q.push(Event{Reason: PolicyChanged})
			q.push(Event{Reason: OwnerChanged})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("push blocked with nobody receiving")
	}
	total := 0
	for total < 2 {
		ev := <-q.out
		total++
		if ev.Count < 1 {
			t.Fatalf("event with count %d", ev.Count)
		}
	}
	cancel()
	for range q.out { // run closes out when ctx ends
	}
}

func TestClassifySignals(t *testing.T) {
	owner := ":1.7"
	changed := func(sender string, body ...any) *dbus.Signal {
		return &dbus.Signal{Sender: sender, Path: authorityPath, Name: authorityIface + ".Changed", Body: body}
	}
	noc := func(sender string, body ...any) *dbus.Signal {
		return &dbus.Signal{Sender: sender, Path: "/org/freedesktop/DBus", Name: dbusIface + ".NameOwnerChanged", Body: body}
	}
	tests := []struct {
		name string
		sig  *dbus.Signal
		want Reason // 0: ignored
	}{
		{"changed, old form", changed(owner), PolicyChanged},
		{"changed, polkit 125 form", changed(owner, uint16(1)), PolicyChanged},
		{"changed from another connection", changed(":1.99"), 0},
		{"changed on another path", &dbus.Signal{Sender: owner, Path: "/x", Name: authorityIface + ".Changed"}, 0},
		{"polkitd gone", noc(dbusName, busName, owner, ""), OwnerChanged},
		{"other name", noc(dbusName, "org.example", "", ":1.8"), 0},
		{"spoofed NameOwnerChanged", noc(":1.99", busName, owner, ""), 0},
		{"malformed NameOwnerChanged", noc(dbusName, busName), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &signalHandler{events: newEventQueue()}
			h.initOwner(owner)
			iface, member := splitName(tt.sig.Name)
			ev, ok := h.classify(iface, member, tt.sig)
			if got := map[bool]Reason{true: ev.Reason}[ok]; got != tt.want {
				t.Fatalf("classify = %v (ok=%v), want %v", ev.Reason, ok, tt.want)
			}
		})
	}
}

func TestOwnerTracking(t *testing.T) {
	h := &signalHandler{events: newEventQueue()}
	changed := &dbus.Signal{Sender: ":1.9", Path: authorityPath, Name: authorityIface + ".Changed"}
	if _, ok := h.classify(authorityIface, "Changed", changed); !ok {
		t.Fatal("Changed ignored while the owner is unknown")
	}
	h.classify(dbusIface, "NameOwnerChanged", &dbus.Signal{Sender: dbusName,
		Body: []any{busName, "", ":1.9"}})
	h.initOwner(":1.2") // an older lookup must not win over the signal
	if _, ok := h.classify(authorityIface, "Changed", changed); !ok {
		t.Fatal("Changed from the new owner ignored")
	}
}

func TestOptions(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus")
	o, err := Options{}.withDefaults()
	if err != nil || o.Address != "unix:path=/nonexistent/bus" || o.CallTimeout <= 0 {
		t.Fatalf("withDefaults() = %+v, %v", o, err)
	}
	if _, err := (Options{MinBackoff: time.Second, MaxBackoff: time.Millisecond}).withDefaults(); err == nil {
		t.Fatal("backoff bounds in the wrong order accepted")
	}
	_, err = Dial(context.Background(), Options{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Dial to a missing bus = %v, want ErrUnavailable", err)
	}
	// WaitForBus keeps trying in the background; Close stops that.
	a, err := Dial(context.Background(), Options{WaitForBus: true, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial with WaitForBus to a missing bus: %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := a.Check(context.Background(), Subject{PID: 1, StartTime: 1}, "x", nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Check before any connection = %v, want ErrUnavailable", err)
	}
	a.Close()
	if _, ok := <-a.Events(); ok {
		t.Error("Events not closed by Close")
	}
}

func splitName(name string) (string, string) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			return name[:i], name[i+1:]
		}
	}
	return "", name
}

func TestProcessSubject(t *testing.T) {
	p := proc.Process{PID: 4242, UID: 1000, StartTime: 99, LoginUID: 7, Session: 3, Exe: "/usr/bin/virsh"}
	if want, got := (Subject{PID: 4242, StartTime: 99, UID: 1000}), ProcessSubject(p); got != want {
		t.Errorf("ProcessSubject = %+v, want %+v", got, want)
	}
}
