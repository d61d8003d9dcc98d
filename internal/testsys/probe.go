// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"github.com/virt-acl-helper/virt-acl-helper/proc"

	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// probeAction is an action every polkit installs. Its default is
// auth_admin, so only a probe rule can make it authorized for polkitd's
// own (non-root) process, which serves as the probe subject; uid 0 would not
// do, as polkitd authorizes root without consulting rules.
const probeAction = "org.freedesktop.policykit.exec"

// probeKey is the detail the probe rule looks for.
const probeKey = "vah_testsys_probe"

// probeRule is put first in every rule file. Answering the probe proves that
// polkitd loaded this very version of the file.
const probeRule = `// Written by virt-acl-helper's tests (internal/testsys); removed when they end.
polkit.addRule(function(action, subject) {
    if (action.id == %q && action.lookup(%q) == %q) {
        return polkit.Result.YES;
    }
});

`

var errNotRunning = errors.New("polkitd is not running, so nothing can load the rule")

// waitProbe asks polkitd whether the probe with token is authorized until
// the answer is want. polkitd's Changed signal wakes it early; a short poll
// covers the rest. A compile error for path printed by polkitd after the
// output offset mark ends the wait at once.
func (pk *Polkitd) waitProbe(token string, want bool, path string, mark int) error {
	ctx, cancel := context.WithTimeout(context.Background(), ruleTimeout)
	defer cancel()
	conn, err := pk.bus.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	changed := subscribeChanged(conn)
	for {
		got, err := pk.probe(ctx, conn, token)
		// A script that throws after its probe rule loads in part: look
		// for errors before taking the probe's word.
		if msg := pk.compileError(path, mark); msg != "" {
			return fmt.Errorf("polkitd rejected it: %s", msg)
		}
		if err == nil && got == want {
			return nil
		}
		if errors.Is(err, errNotRunning) {
			return err
		}
		select {
		case <-ctx.Done():
			return pk.probeTimeout(want, err)
		case <-changed:
		case <-time.After(5 * pollInterval):
		}
	}
}

// subscribeChanged returns a channel that receives polkit's Changed
// signals. Failing to subscribe only costs latency: waitProbe also polls.
func subscribeChanged(conn *dbus.Conn) <-chan *dbus.Signal {
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	conn.AddMatchSignal(
		dbus.WithMatchSender(PolkitName),
		dbus.WithMatchObjectPath("/org/freedesktop/PolicyKit1/Authority"),
		dbus.WithMatchInterface("org.freedesktop.PolicyKit1.Authority"),
		dbus.WithMatchMember("Changed"),
	)
	return ch
}

func (pk *Polkitd) probeTimeout(want bool, lastErr error) error {
	what := "load"
	if !want {
		what = "drop"
	}
	msg := fmt.Sprintf("polkitd (pid %d) did not %s it within %v", pk.PID(), what, ruleTimeout)
	if lastErr != nil {
		msg += "; last probe error: " + lastErr.Error()
	}
	return fmt.Errorf("%s; polkitd output:\n%s", msg, pk.Output())
}

// compileError returns the line in which polkitd reported an error in
// path after offset mark, if any.
func (pk *Polkitd) compileError(path string, mark int) string {
	out := pk.Output()
	if mark > len(out) {
		return ""
	}
	for _, line := range strings.Split(out[mark:], "\n") {
		if strings.Contains(line, "Error compiling script "+path) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// probe asks whether polkitd's own process is authorized for probeAction
// with token as the probe detail, which only a probe rule can allow.
func (pk *Polkitd) probe(ctx context.Context, conn *dbus.Conn, token string) (bool, error) {
	pid := pk.PID()
	if pid == 0 {
		return false, errNotRunning
	}
	p, err := proc.Lookup(int32(pid))
	if err != nil {
		return false, err
	}
	st, uid := p.StartTime, p.UID
	subject := struct {
		Kind    string
		Details map[string]dbus.Variant
	}{"unix-process", map[string]dbus.Variant{
		"pid":        dbus.MakeVariant(uint32(pid)),
		"start-time": dbus.MakeVariant(st),
		"uid":        dbus.MakeVariant(int32(uid)),
	}}
	var result struct {
		Authorized bool
		Challenge  bool
		Details    map[string]string
	}
	obj := conn.Object(PolkitName, "/org/freedesktop/PolicyKit1/Authority")
	call := obj.CallWithContext(ctx, "org.freedesktop.PolicyKit1.Authority.CheckAuthorization", 0,
		subject, probeAction, map[string]string{probeKey: token}, uint32(0), "")
	if err := call.Store(&result); err != nil {
		return false, fmt.Errorf("probe CheckAuthorization: %w", err)
	}
	return result.Authorized, nil
}
