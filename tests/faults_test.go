// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/internal/daemontest"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// Fault tests: the built daemon, on a socket the test holds as systemd
// would, with a real polkitd, dbus-daemon and auditd, asked about real
// processes of real users while something breaks. Each asserts what a
// client sees: answers, varlink error names, no allow it should not get,
// no call left hanging (every call has a deadline).

// faultConf: a 30 s allow TTL so that "cached as allowed" is stable
// across a fault, no audit unless a test asks, no idle exit.
const faultConf = "access_drivers = [ \"polkit\" ]\naudit_level = 0\nlog_level = 2\nidle_timeout = 0\n" +
	"cache_allow_ttl = 30\ncache_deny_ttl = 10\n"

// callTimeout bounds every call: a call that takes longer has hung. It
// outlasts the daemon's polkit_timeout (daemontest sets it past a polkitd
// stall, testsys.PolkitStall).
const callTimeout = testsys.PolkitAnswerTimeout + 5*time.Second

// faultWorld is a daemon and two users: alice may do anything to domains
// whose name starts with "alice-"; bob may do nothing beyond the anonymous
// permissions.
type faultWorld struct {
	*daemontest.World
	d          *daemontest.Daemon
	alice, bob testsys.Proc
}

func newFaultWorld(t *testing.T, conf string) *faultWorld {
	t.Helper()
	w := &faultWorld{World: daemontest.NewWorld(t)}
	alice, bob := testsys.AddUser(t, "alice"), testsys.AddUser(t, "bob")
	w.PK.AddRule(t, "faults", fmt.Sprintf(`
polkit.addRule(function(action, subject) {
    if (subject.user == %q && action.id.indexOf("org.libvirt.api.domain.") == 0 &&
        action.lookup("domain_name").indexOf("alice-") == 0)
        return polkit.Result.YES;
    return polkit.Result.NOT_HANDLED;
});`, alice.Name))
	w.alice, w.bob = alice.Start(t), bob.Start(t)
	w.d = w.Activate(t, w.Config(t, "faults.conf", conf))
	return w
}

// ask asks, as root on behalf of p, whether p may start the domain name.
func ask(c *client.Client, p testsys.Proc, name string) (accessapi.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return c.Check(ctx, accessapi.CheckParams{
		Object:     accessapi.Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{"domain_name": name, "domain_uuid": uuidFor(name)}},
		Permission: "start", Subject: p.Subject(),
	})
}

// uuidFor derives a stable, valid UUID from a name.
func uuidFor(name string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(h>>32), uint16(h>>16), uint16(h)&0xfff, uint16(h>>4)&0xfff, h&0xffffffffffff)
}

// answer is one call made under load.
type answer struct {
	who       string // "alice-cached", "alice-new" or "bob"
	sent, got time.Time
	res       accessapi.Result
	err       error
	errName   string
	timedOut  bool
}

// load asks from workers goroutines, each on its own connection, until
// stop is closed: alice about a domain cached as allowed before the
// fault, alice about a domain never asked before (uncached, allowed by
// the rules), and bob about alice's domain (denied by the rules).
type load struct {
	mu      sync.Mutex
	answers []answer
	seq     atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(t *testing.T, w *faultWorld, workers int) *load {
	t.Helper()
	l := &load{stop: make(chan struct{})}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go l.worker(w, i)
	}
	return l
}

func (l *load) worker(w *faultWorld, i int) {
	defer l.wg.Done()
	var c *client.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		if c == nil {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			c, _ = client.Dial(ctx, w.d.Sock)
			cancel()
			if c == nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		a := l.one(w, c, n)
		if a.err != nil && a.errName == "" {
			c.Close() // a broken connection: dial again
			c = nil
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (l *load) one(w *faultWorld, c *client.Client, n int) answer {
	a := answer{sent: time.Now()}
	switch n % 3 {
	case 0:
		a.who = "alice-cached"
		a.res, a.err = ask(c, w.alice, "alice-cached")
	case 1:
		a.who = "alice-new"
		a.res, a.err = ask(c, w.alice, fmt.Sprintf("alice-new-%d", l.seq.Add(1)))
	default:
		a.who = "bob"
		a.res, a.err = ask(c, w.bob, "alice-cached")
	}
	a.got = time.Now()
	a.errName = client.ErrorName(a.err)
	a.timedOut = a.err != nil && a.got.Sub(a.sent) >= callTimeout
	l.mu.Lock()
	l.answers = append(l.answers, a)
	l.mu.Unlock()
	return a
}

// finish stops the workers and returns every answer.
func (l *load) finish() []answer {
	close(l.stop)
	l.wg.Wait()
	return l.answers
}

// checkNoWrongAllow fails on any allow bob got, and on an uncached allow
// for alice asked after down and answered before up: polkit could not
// have given it.
func checkNoWrongAllow(t *testing.T, answers []answer, down, up time.Time) {
	t.Helper()
	for _, a := range answers {
		if a.timedOut {
			t.Errorf("%s: a call hung for %v", a.who, callTimeout)
		}
		if a.err != nil || !a.res.Allowed {
			continue
		}
		if a.who == "bob" {
			t.Errorf("bob was allowed: %+v", a.res)
		}
		if !a.res.Cached && a.sent.After(down) && a.got.Before(up) {
			t.Errorf("%s: allowed without polkit, not from the cache, at %v into the outage", a.who, a.sent.Sub(down))
		}
	}
}

// tally counts answers in (from, to) by outcome, for the test's log and
// assertions: "allowed", "denied" or the error name.
func tally(answers []answer, from, to time.Time) map[string]int {
	m := map[string]int{}
	for _, a := range answers {
		if a.sent.Before(from) || a.got.After(to) {
			continue
		}
		switch {
		case a.err != nil && a.errName != "":
			m[a.who+" "+strings.TrimPrefix(a.errName, accessapi.Interface+".")]++
		case a.err != nil:
			m[a.who+" connection error"]++
		case a.res.Allowed && a.res.Cached:
			m[a.who+" allowed (cached)"]++
		case a.res.Allowed:
			m[a.who+" allowed"]++
		default:
			m[a.who+" denied"]++
		}
	}
	return m
}

// warm caches alice's allow for alice-cached. polkitd may still send a
// Changed signal for the rule just added, which flushes the cache, so it
// retries for a while.
func (w *faultWorld) warm(t *testing.T, c *client.Client) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := ask(c, w.alice, "alice-cached")
		if err != nil || !r.Allowed {
			t.Fatalf("alice-cached before the fault: %+v, %v", r, err)
		}
		if r.Cached {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice-cached not cached: %+v", r)
		}
	}
}

// waitUncachedAllow asks about new domains of alice's until one is
// allowed by polkit, and returns how long that took.
func (w *faultWorld) waitUncachedAllow(t *testing.T, c *client.Client, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for i := 0; ; i++ {
		r, err := ask(c, w.alice, fmt.Sprintf("alice-probe-%d", i))
		if err == nil && r.Allowed && !r.Cached {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("no answer from polkit %v after it returned: last %+v, %v", limit, r, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func polkitInvalidations(t *testing.T, c *client.Client) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	s, err := c.Stats(ctx)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	n := 0
	for reason, v := range s.Invalidations {
		if strings.HasPrefix(reason, "polkit") {
			n += int(v)
		}
	}
	return n
}

func clientErrorName(err error) string { return client.ErrorName(err) }
