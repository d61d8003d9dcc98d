// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"github.com/virt-acl-helper/virt-acl-helper/proc"

	"context"
	"fmt"
	"os"
	"os/user"
	"strings"
	"testing"
	"time"
)

func TestBusStartRestart(t *testing.T) {
	b := StartBus(t)
	if len(strings.TrimPrefix(b.Address, "unix:path=")) > maxSunPath {
		t.Fatalf("socket path too long: %s", b.Address)
	}
	conn := b.Conn(t)
	if !conn.Connected() {
		t.Fatal("connection to a fresh bus is not connected")
	}
	old := b.PID()
	b.Restart(t)
	if b.PID() == 0 || b.PID() == old {
		t.Fatalf("after Restart pid is %d (was %d)", b.PID(), old)
	}
	waitFor(t, "old connection to notice the restart", func() bool { return !conn.Connected() })
	b.Conn(t) // the same address works again
	b.Stop(t)
	if _, err := b.dial(context.Background()); err == nil {
		t.Fatal("dial succeeded on a stopped bus")
	}
}

func TestPolkitdKillRestart(t *testing.T) {
	b := StartBus(t)
	pk := StartPolkitd(t, b)
	pid := pk.PID()
	if pid == 0 {
		t.Fatal("polkitd not running after StartPolkitd")
	}
	info, err := proc.Lookup(int32(pid))
	uid := info.UID
	if err != nil || uid == 0 {
		t.Fatalf("polkitd uid = %d, %v; want it to have dropped root", uid, err)
	}
	pk.Kill(t)
	if pk.PID() != 0 {
		t.Fatal("polkitd still running after Kill")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Fatalf("pid %d still exists after Kill", pid)
	}
	pk.Start(t)
	if pk.PID() == 0 || pk.PID() == pid {
		t.Fatalf("after Start pid is %d (was %d)", pk.PID(), pid)
	}
	// A stopped bus takes polkitd down with it; Restart copes.
	b.Stop(t)
	waitFor(t, "polkitd to exit with its bus", func() bool { return pk.PID() == 0 })
	b.Start(t)
	pk.Restart(t)
	if pk.PID() == 0 {
		t.Fatal("polkitd not running after bus and polkitd restart")
	}
}

func TestRuleLifecycle(t *testing.T) {
	b := StartBus(t)
	pk := StartPolkitd(t, b)
	r := pk.AddRule(t, "lifecycle", `// nothing but the probe`)
	if _, err := os.Stat(r.Path); err != nil {
		t.Fatalf("rule file: %v", err)
	}
	r.Replace(t, `polkit.addRule(function(action, subject) {});`)
	r.Remove(t)
	if _, err := os.Stat(r.Path); !os.IsNotExist(err) {
		t.Fatalf("rule file still there after Remove: %v", err)
	}
}

func TestRuleErrors(t *testing.T) {
	b := StartBus(t)
	pk := StartPolkitd(t, b)
	r := pk.AddRule(t, "broken", `// broken below`)
	tests := []struct {
		name   string
		script func(token string) string
	}{
		{"syntax error", func(string) string { return "this is not javascript(\n" }},
		{"throws after the probe", func(token string) string {
			return fmt.Sprintf(probeRule, probeAction, probeKey, token) + "throw 'boom';\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := newToken()
			mark := pk.outputLen()
			if err := writeFileAtomic(r.Path, []byte(tt.script(token))); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err := pk.waitProbe(token, true, r.Path, mark)
			if err == nil || !strings.Contains(err.Error(), "Error compiling script") {
				t.Fatalf("waitProbe = %v; want polkitd's error", err)
			}
			if d := time.Since(start); d > ruleTimeout/2 {
				t.Fatalf("the error took %v to notice", d)
			}
		})
	}
}

func TestRulesInParallel(t *testing.T) {
	b := StartBus(t)
	pk := StartPolkitd(t, b)
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			r := pk.AddRule(t, "parallel", "// rule "+fmt.Sprint(i))
			r.Replace(t, "// rule replaced")
		})
	}
}

func TestUserProcess(t *testing.T) {
	var pid int32
	var name string
	t.Run("inner", func(t *testing.T) {
		u := AddUser(t, "proc")
		name = u.Name
		if !strings.HasPrefix(u.Name, "vah-proc-") || u.UID == 0 {
			t.Fatalf("AddUser gave %+v", u)
		}
		p := u.Start(t)
		pid = p.PID
		info, err := proc.Lookup(p.PID)
		if err != nil || info.UID != u.UID || p.UID != u.UID {
			t.Fatalf("process uid = %d, %v; want %d", info.UID, err, u.UID)
		}
		if info.StartTime != p.StartTime {
			t.Fatalf("start time = %d; want %d", info.StartTime, p.StartTime)
		}
		second := u.Start(t)
		second.Kill(t)
	})
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Fatalf("process %d survived its test's cleanup", pid)
	}
	if _, err := user.Lookup(name); err == nil {
		t.Fatalf("user %s survived its test's cleanup", name)
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollInterval)
	}
}
