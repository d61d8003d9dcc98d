// SPDX-License-Identifier: Apache-2.0

package polkit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
)

// eventTimeout bounds every wait for an Event.
const eventTimeout = 10 * time.Second

// rules is what the tests' rule file says, for the two test users only:
// alice may start domains and bob may not; stop needs details naming the
// user's own domain; delete asks for an administrator.
const rules = `polkit.addRule(function(action, subject) {
    if (subject.user != "ALICE" && subject.user != "BOB") {
        return polkit.Result.NOT_HANDLED;
    }
    if (action.id == "org.libvirt.api.domain.start") {
        return subject.user == "ALICE" ? polkit.Result.YES : polkit.Result.NO;
    }
    if (action.id == "org.libvirt.api.domain.stop") {
        if (action.lookup("domain_name") == "vm-" + subject.user &&
            action.lookup("domain_uuid") == "UUID") {
            return polkit.Result.YES;
        }
        return polkit.Result.NO;
    }
    if (action.id == "org.libvirt.api.domain.delete") {
        return polkit.Result.AUTH_ADMIN;
    }
    return polkit.Result.NOT_HANDLED;
});`

const domainUUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"

// fixture is a private bus with polkitd, two real users each running a
// process, the rule file above, and an Authority on the bus.
type fixture struct {
	bus        *testsys.Bus
	pk         *testsys.Polkitd
	rule       *testsys.Rule
	auth       *polkit.Authority
	alice, bob testsys.User
	aliceProc  polkit.Subject
	bobProc    polkit.Subject
}

func setup(t testing.TB) *fixture {
	t.Helper()
	testsys.NeedRoot(t)
	f := &fixture{bus: testsys.StartBus(t)}
	f.pk = testsys.StartPolkitd(t, f.bus)
	f.alice, f.bob = testsys.AddUser(t, "alice"), testsys.AddUser(t, "bob")
	f.aliceProc, f.bobProc = subject(f.alice.Start(t)), subject(f.bob.Start(t))
	f.rule = f.pk.AddRule(t, "polkit-client", f.rules(rules))
	f.auth = dial(t, f.bus.Address)
	return f
}

// rules fills in the test users and domain UUID.
func (f *fixture) rules(js string) string {
	return strings.NewReplacer("ALICE", f.alice.Name, "BOB", f.bob.Name, "UUID", domainUUID).Replace(js)
}

func subject(p testsys.Proc) polkit.Subject {
	return polkit.Subject{PID: uint32(p.PID), StartTime: p.StartTime, UID: p.UID}
}

func dial(t testing.TB, address string) *polkit.Authority {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := polkit.Dial(ctx, polkit.Options{
		Address:     address,
		CallTimeout: testsys.PolkitAnswerTimeout,
		MinBackoff:  10 * time.Millisecond,
		MaxBackoff:  200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// check runs Check and enforces its contract: never Authorized with an
// error, and every error wraps ErrUnavailable.
func check(t testing.TB, a *polkit.Authority, s polkit.Subject, action string, details map[string]string) (polkit.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testsys.PolkitAnswerTimeout)
	defer cancel()
	r, err := a.Check(ctx, s, action, details)
	if err != nil && (r.Authorized || !errors.Is(err, polkit.ErrUnavailable)) {
		t.Errorf("Check(%s, %s) = %v, %v: an error must come with no authorization and wrap ErrUnavailable", action, s, r, err)
	}
	return r, err
}

// waitEvent receives events until one has the reason, and returns it.
func waitEvent(t testing.TB, a *polkit.Authority, reason polkit.Reason) polkit.Event {
	t.Helper()
	timeout := time.After(eventTimeout)
	for {
		select {
		case ev, ok := <-a.Events():
			if !ok {
				t.Fatalf("Events closed while waiting for %v", reason)
			}
			t.Logf("event: %v x%d: %s", ev.Reason, ev.Count, ev.Detail)
			if ev.Reason == reason {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event within %v", reason, eventTimeout)
		}
	}
}

// drainEvents discards the events already delivered.
func drainEvents(a *polkit.Authority) {
	for {
		select {
		case <-a.Events():
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := setup(t)
	qemu := func(name, uuid string) map[string]string {
		return map[string]string{"connect_driver": "QEMU", "domain_name": name, "domain_uuid": uuid}
	}
	tests := []struct {
		name      string
		subject   polkit.Subject
		action    string
		details   map[string]string
		want      polkit.Result
		wantError string // substring; "" when Check must succeed
	}{
		{name: "rule allows alice", subject: f.aliceProc, action: "org.libvirt.api.domain.start",
			details: qemu("vm-x", domainUUID), want: polkit.Result{Authorized: true}},
		{name: "rule denies bob", subject: f.bobProc, action: "org.libvirt.api.domain.start",
			details: qemu("vm-x", domainUUID)},
		{name: "details reach the rule", subject: f.aliceProc, action: "org.libvirt.api.domain.stop",
			details: qemu("vm-"+f.alice.Name, domainUUID), want: polkit.Result{Authorized: true}},
		{name: "wrong domain uuid", subject: f.aliceProc, action: "org.libvirt.api.domain.stop",
			details: qemu("vm-"+f.alice.Name, "00000000-0000-0000-0000-000000000000")},
		{name: "another user's domain", subject: f.bobProc, action: "org.libvirt.api.domain.stop",
			details: qemu("vm-"+f.alice.Name, domainUUID)},
		{name: "no details", subject: f.aliceProc, action: "org.libvirt.api.domain.stop"},
		{name: "auth_admin is a challenge", subject: f.aliceProc, action: "org.libvirt.api.domain.delete",
			details: qemu("vm-x", domainUUID), want: polkit.Result{Challenge: true}},
		{name: "no rule, default no", subject: f.bobProc, action: "org.libvirt.api.domain.snapshot",
			details: qemu("vm-x", domainUUID)},
		{name: "no rule, anonymous default yes", subject: f.bobProc, action: "org.libvirt.api.connect.getattr",
			details: map[string]string{"connect_driver": "QEMU"}, want: polkit.Result{Authorized: true}},
		// polkitd believes the uid its (root) caller vouches for: bob's
		// process is judged as alice. Callers must pass the peer's real uid.
		{name: "the subject's uid decides, not the process's",
			subject: polkit.Subject{PID: f.bobProc.PID, StartTime: f.bobProc.StartTime, UID: f.aliceProc.UID},
			action:  "org.libvirt.api.domain.start", want: polkit.Result{Authorized: true}},
		{name: "unknown action", subject: f.aliceProc, action: "org.libvirt.api.domain.no-such-permission",
			wantError: "not registered"},
		{name: "stale start time", subject: polkit.Subject{PID: f.aliceProc.PID,
			StartTime: f.aliceProc.StartTime + 1, UID: f.aliceProc.UID},
			action: "org.libvirt.api.domain.start", wantError: "replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := check(t, f.auth, tt.subject, tt.action, tt.details)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("Check = %v, %v; want an error containing %q", got, err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got.Authorized != tt.want.Authorized || got.Challenge != tt.want.Challenge || got.Dismissed {
				t.Fatalf("Check = %v (%+v), want %v", got, got, tt.want)
			}
		})
	}
}

func TestInvalidSubject(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.auth.Check(context.Background(), polkit.Subject{}, "org.libvirt.api.domain.start", nil)
	if err == nil || !strings.Contains(err.Error(), "pid 0") {
		t.Fatalf("Check with pid 0 = %v, want an error naming it", err)
	}
}

func TestChangedOnRuleChange(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if r, _ := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil); !r.Authorized {
		t.Fatalf("before the change: %v", r)
	}
	drainEvents(f.auth)
	gen := f.auth.Generation()
	f.rule.Replace(t, f.rules(`polkit.addRule(function(action, subject) {
    if (subject.user == "ALICE" && action.id == "org.libvirt.api.domain.start") {
        return polkit.Result.NO;
    }
});`))
	waitEvent(t, f.auth, polkit.PolicyChanged)
	if f.auth.Generation() == gen {
		t.Error("Generation did not change with the policy")
	}
	if r, err := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil); err != nil || r.Authorized {
		t.Fatalf("after the change: %v, %v; want not authorized", r, err)
	}
}

func TestPolkitdKilledAndRestarted(t *testing.T) {
	t.Parallel()
	f := setup(t)
	drainEvents(f.auth)
	f.pk.Kill(t)
	ev := waitEvent(t, f.auth, polkit.OwnerChanged)
	if !strings.HasSuffix(ev.Detail, "(none)") {
		t.Errorf("owner change detail %q does not say the name is gone", ev.Detail)
	}
	_, err := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil)
	if !errors.Is(err, polkit.ErrUnavailable) {
		t.Fatalf("Check with polkitd gone = %v, want ErrUnavailable", err)
	}
	t.Logf("with polkitd gone: %v", err)
	if !f.auth.Connected() {
		t.Fatal("a polkitd crash must not break the bus connection")
	}

	f.pk.Start(t)
	ev = waitEvent(t, f.auth, polkit.OwnerChanged)
	if strings.HasSuffix(ev.Detail, "(none)") {
		t.Errorf("owner change detail %q after restart says the name is gone", ev.Detail)
	}
	if r, err := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil); err != nil || !r.Authorized {
		t.Fatalf("after polkitd restart: %v, %v; want authorized", r, err)
	}
}

func TestBusRestart(t *testing.T) {
	t.Parallel()
	f := setup(t)
	drainEvents(f.auth)
	f.bus.Stop(t)
	waitEvent(t, f.auth, polkit.Disconnected)
	if f.auth.Connected() {
		t.Fatal("Connected() after the bus stopped")
	}
	start := time.Now()
	_, err := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil)
	if !errors.Is(err, polkit.ErrUnavailable) {
		t.Fatalf("Check while disconnected = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Check while disconnected took %v; it should fail fast", d)
	}
	t.Logf("while disconnected: %v", err)

	f.bus.Start(t)
	f.pk.Restart(t) // polkitd exits with its bus
	waitEvent(t, f.auth, polkit.Reconnected)
	if r, err := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil); err != nil || !r.Authorized {
		t.Fatalf("after bus restart: %v, %v; want authorized", r, err)
	}
	// Signals are subscribed again on the new connection.
	drainEvents(f.auth)
	f.rule.Replace(t, f.rules(rules+"\n// touched"))
	waitEvent(t, f.auth, polkit.PolicyChanged)
}

// TestWaitForBus: with WaitForBus, an Authority dialled while the bus is
// down denies (ErrUnavailable) until the bus comes, then connects.
func TestWaitForBus(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.bus.Stop(t)
	a, err := polkit.Dial(context.Background(), polkit.Options{Address: f.bus.Address, WaitForBus: true,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial with WaitForBus while the bus is down: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := check(t, a, f.aliceProc, "org.libvirt.api.domain.start", nil); !errors.Is(err, polkit.ErrUnavailable) {
		t.Fatalf("Check before the bus came = %v, want ErrUnavailable", err)
	}
	if _, err := polkit.Dial(context.Background(), polkit.Options{Address: f.bus.Address}); !errors.Is(err, polkit.ErrUnavailable) {
		t.Fatalf("Dial without WaitForBus while the bus is down = %v, want ErrUnavailable", err)
	}
	f.bus.Start(t)
	f.pk.Restart(t) // polkitd exits with its bus
	waitEvent(t, a, polkit.Reconnected)
	if r, err := check(t, a, f.aliceProc, "org.libvirt.api.domain.start", nil); err != nil || !r.Authorized {
		t.Fatalf("after the bus came: %v, %v; want authorized", r, err)
	}
}

// TestFailsClosedUnderChurn checks concurrently while polkitd and the bus
// restart: bob is never authorized, and errors never come with an
// authorization (check enforces that).
func TestFailsClosedUnderChurn(t *testing.T) {
	t.Parallel()
	f := setup(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, action := f.aliceProc, "org.libvirt.api.domain.start"
			if i%2 == 1 {
				s = f.bobProc
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := check(t, f.auth, s, action, nil)
				if s == f.bobProc && r.Authorized {
					t.Errorf("bob authorized: %v", r)
				}
				mu.Lock()
				counts[map[bool]string{true: "error", false: r.String()}[err != nil]]++
				mu.Unlock()
			}
		}()
	}
	f.pk.Restart(t)
	f.bus.Restart(t)
	f.pk.Restart(t)
	waitEvent(t, f.auth, polkit.Reconnected)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("results: %v", counts)
	if r, err := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil); err != nil || !r.Authorized {
		t.Fatalf("after the churn: %v, %v; want authorized", r, err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if err := f.auth.Close(); err != nil {
		t.Fatal(err)
	}
	f.auth.Close() // idempotent
	select {
	case _, ok := <-f.auth.Events():
		if ok {
			// An event queued before Close may still come; the channel then closes.
			if _, ok := <-f.auth.Events(); ok {
				t.Fatal("Events still open after Close")
			}
		}
	case <-time.After(eventTimeout):
		t.Fatal("Events not closed by Close")
	}
	_, err := check(t, f.auth, f.aliceProc, "org.libvirt.api.domain.start", nil)
	if !errors.Is(err, polkit.ErrUnavailable) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Check after Close = %v, want ErrUnavailable saying closed", err)
	}
}

func TestDialSystemBusFromEnvironment(t *testing.T) {
	f := setup(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", f.bus.Address)
	a := dial(t, "")
	if a.Address() != f.bus.Address {
		t.Fatalf("Address() = %s, want %s", a.Address(), f.bus.Address)
	}
	if r, err := check(t, a, f.aliceProc, "org.libvirt.api.domain.start", nil); err != nil || !r.Authorized {
		t.Fatalf("Check: %v, %v", r, err)
	}
}

// BenchmarkCheck measures one real CheckAuthorization round trip with
// libvirt's details, through dbus-daemon, polkitd and a JavaScript rule.
func BenchmarkCheck(b *testing.B) {
	f := setup(b)
	details := map[string]string{"connect_driver": "QEMU", "domain_name": "vm-" + f.alice.Name, "domain_uuid": domainUUID}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := f.auth.Check(ctx, f.aliceProc, "org.libvirt.api.domain.stop", details)
		if err != nil || !r.Authorized {
			b.Fatalf("Check = %v, %v", r, err)
		}
	}
}
