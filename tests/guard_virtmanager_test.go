// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// virtManagerSettle is how long virt-manager gets to draw a window.
const virtManagerSettle = 12 * time.Second

// TestGuardVirtManager starts real virt-manager as restricted user A
// against the guard, in a real window under Xvfb: its connection and VM
// list, the details page and the console of A's own running VM. The
// screenshots go to results/virt-manager/ (their paths are in the test
// output). virt-manager must stay up, read A's VM and open its serial
// console through the guard, and the guard must have filtered user B's
// VM out of what it listed. (A may also read its VM's secure XML and
// open its devices: virt-manager asks for both.)
func TestGuardVirtManager(t *testing.T) {
	xvfb := testsys.NeedCommand(t, "Xvfb")
	testsys.NeedCommand(t, "virt-manager")
	testsys.NeedCommand(t, "import")
	w := newFilterWorld(t)
	if out, err := w.lv.Virsh(nil, "start", w.vmA); err != nil {
		t.Fatalf("start vmA: %v\n%s", err, out)
	}
	display := startXvfb(t, xvfb)
	shots, err := filepath.Abs(filepath.Join("..", "results", "virt-manager"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if err := os.Chown(home, int(w.a.UID), int(w.a.GID)); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(home), 0o755)
	for _, view := range []struct {
		name string
		args []string
	}{
		{"vm-list", nil},
		{"details", []string{"--show-domain-editor", w.vmA}},
		{"console", []string{"--show-domain-console", w.vmA}},
	} {
		vm := runVirtManager(t, w, display, home, view.args)
		shot := filepath.Join(shots, view.name+".png")
		if b, err := exec.Command("import", "-display", display, "-window", "root", shot).CombinedOutput(); err != nil {
			t.Fatalf("screenshot: %v\n%s", err, b)
		}
		t.Logf("virt-manager %s as %s: %s", view.name, w.a.Name, shot)
		if exited, how := vm.Exited(); exited {
			t.Errorf("virt-manager %s exited early (%s):\n%s", view.name, how, vm.Output())
		}
		if err := vm.Stop(); err != nil {
			t.Error(err)
		}
	}
	for _, op := range []string{"REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS", "REMOTE_PROC_DOMAIN_GET_XML_DESC"} {
		if !w.audit.saw("guard", op, true) {
			t.Errorf("virt-manager made no allowed %s through the guard; decisions: %v", op, w.audit.ops())
		}
	}
	// The VM has a VNC display and a serial console: virt-manager's
	// console page shows the display (its descriptor passed through the
	// guard), or the serial console when it has no display.
	if !w.audit.saw("guard", "REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD", true) && !w.audit.saw("guard", "REMOTE_PROC_DOMAIN_OPEN_CONSOLE", true) {
		t.Errorf("virt-manager opened no console through the guard; decisions: %v", w.audit.ops())
	}
	if w.audit.saw("guard", "REMOTE_PROC_DOMAIN_GET_XML_DESC", false) {
		t.Errorf("virt-manager was denied A's own VM's XML; decisions: %v", w.audit.ops())
	}
	w.audit.mu.Lock()
	denials := append([]string(nil), w.audit.denials...)
	w.audit.mu.Unlock()
	filtered := false
	for _, d := range denials {
		filtered = filtered || strings.Contains(d, "domain:getattr "+w.vmB)
	}
	if !filtered {
		t.Errorf("the guard did not filter %s out of A's list; denials: %v", w.vmB, denials)
	}
}

// startXvfb starts an X server on a free display for the test, stopped
// by pid at cleanup, and returns the display.
func startXvfb(t *testing.T, xvfb string) string {
	t.Helper()
	for n := 90; n < 99; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		display := fmt.Sprintf(":%d", n)
		testsys.StartChild(t, "Xvfb", exec.Command(xvfb, display, "-screen", "0", "1280x800x24", "-ac", "-nolisten", "tcp"))
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				return display
			}
		}
		t.Fatalf("Xvfb %s did not start", display)
	}
	t.Fatal("no free X display in :90-:98")
	return ""
}

// runVirtManager starts virt-manager as user A on display with args and
// waits for it to draw.
func runVirtManager(t *testing.T, w *filterWorld, display, home string, args []string) *testsys.Child {
	t.Helper()
	cmd := exec.Command("virt-manager", append([]string{"--no-fork", "--connect", w.uri}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "DISPLAY=" + display,
		"LC_ALL=C.UTF-8", "GSETTINGS_BACKEND=memory", "NO_AT_BRIDGE=1", "XDG_RUNTIME_DIR=" + home}
	cmd.Dir = home
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: w.a.UID, Gid: w.a.GID}}
	vm := testsys.StartChild(t, "virt-manager", cmd)
	for deadline := time.Now().Add(virtManagerSettle); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if exited, _ := vm.Exited(); exited {
			break
		}
	}
	return vm
}
