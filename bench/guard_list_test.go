// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// The guard's list benchmark: `virsh list --all` as a restricted user
// who owns 3 of the host's VMs, through the guard (cold: a guard just
// started; warm: its decisions cached), beside three anchors measured in
// the same run: libvirtd's own polkit access driver for the same user
// and for root, and libvirtd without access control.
const (
	guardOwnVMs   = 3
	guardSamples  = 3 // per anchor and cold guard; the median is reported
	guardWarmRuns = 5
)

// rootRule lets root do anything through libvirtd's polkit driver (the
// issue's root anchor); libvirt's example policy would deny it.
const rootRule = `polkit.addRule(function(action, subject) {
    if (subject.user == "root" && action.id.indexOf("org.libvirt.api.") == 0)
        return polkit.Result.YES;
});`

// guardVMs is the number of VMs defined: BENCH_GUARD_VMS, or 1,003 (the
// issue's host: 1,000 tenants' VMs and the user's 3).
func guardVMs(t *testing.T) int {
	if v := os.Getenv("BENCH_GUARD_VMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < guardOwnVMs {
			t.Fatalf("BENCH_GUARD_VMS=%q: want a number ≥ %d", v, guardOwnVMs)
		}
		return n
	}
	return 1003
}

// benchVMNames names n VMs: the bench user's own (the bench rule grants
// "bench-*"), the rest the tenants' of libvirt's example-style rules.
func benchVMNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		if i < guardOwnVMs {
			names[i] = fmt.Sprintf("bench-list-own-%d", i)
		} else {
			names[i] = fmt.Sprintf("tenant%02d-list-%d", i%userRules, i)
		}
	}
	return names
}

// guardList measures the list benchmark as user u.
func (b *bench) guardList(u testsys.User) {
	n := guardVMs(b.t)
	names := benchVMNames(n)
	var none, pkUser, pkRoot time.Duration
	cold, warm := map[int]time.Duration{}, map[int]time.Duration{}
	b.t.Run("libvirtd without access control, and the guard", func(t *testing.T) {
		lv := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{})
		defineAll(t, lv.URI, names)
		none = medianRuns(t, guardSamples, func() { listAll(t, lv.URI, u, n) })
		for _, level := range []int{0, 1} {
			colds := make([]time.Duration, guardSamples)
			for i := range colds {
				g := b.startListGuard(t, lv.Socket, level)
				colds[i] = timed(func() { listAll(t, g, u, guardOwnVMs) })
				if i == 0 {
					warm[level] = medianRuns(t, guardWarmRuns, func() { listAll(t, g, u, guardOwnVMs) })
				}
			}
			slices.Sort(colds)
			cold[level] = colds[guardSamples/2]
		}
	})
	b.t.Run("libvirtd's polkit driver", func(t *testing.T) {
		lv := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{AccessDrivers: []string{"polkit"}, Bus: b.w.Bus})
		// Root's rule is broad (every libvirt action) and every polkitd
		// on the machine reads it: it lives only while this part holds
		// the machine's libvirtd, and goes before libvirtd stops.
		b.rules.add(t, b.w.PK, "bench-root", rootRule)
		t.Cleanup(func() { undefineAll(t, lv.URI, names) })
		defineAll(t, lv.URI, names) // already defined: a no-op unless the first part failed
		pkUser = medianRuns(t, guardSamples, func() { listAll(t, lv.URI, u, guardOwnVMs) })
		pkRoot = medianRuns(t, guardSamples, func() { listAll(t, lv.URI, testsys.User{Name: "root"}, n) })
	})
	if b.t.Failed() {
		return
	}
	c := fmt.Sprintf("virsh list --all, %d VMs", n)
	b.report.add(c, "libvirtd, no access control", ms(none), "ms")
	b.report.add(c, "libvirtd polkit driver, restricted user", ms(pkUser), "ms")
	b.report.add(c, "libvirtd polkit driver, root", ms(pkRoot), "ms")
	for _, level := range []int{0, 1} {
		audit := []string{"audit off", "audit on"}[level]
		b.report.add(c, "guard, restricted user, cold, "+audit, ms(cold[level]), "ms")
		b.report.add(c, "guard, restricted user, warm, "+audit, ms(warm[level]), "ms")
		warmRatio := float64(warm[level]) / float64(max(none, 1))
		coldRatio := float64(cold[level]) / float64(max(pkUser, 1))
		b.report.add("ratio", "guard warm / libvirtd without access control, "+audit, warmRatio, "x")
		b.report.add("ratio", "guard cold / libvirtd polkit driver (same user), "+audit, coldRatio, "x")
		b.guardTargets = append(b.guardTargets,
			Target{"guard list, warm, within 1.5x of libvirtd without ACLs, " + audit, fmt.Sprintf("%.2fx", warmRatio), warmRatio <= 1.5},
			Target{"guard list, cold, no slower than libvirtd's polkit driver, " + audit, fmt.Sprintf("%.2fx", coldRatio), coldRatio <= 1})
	}
}

// startListGuard runs the built guard in front of upstream at the audit
// level, and returns the URI of its socket; it is stopped (by pid) at
// cleanup.
func (b *bench) startListGuard(t *testing.T, upstream string, auditLevel int) string {
	sock := filepath.Join(b.w.Dir, fmt.Sprintf("g%d.sock", time.Now().UnixNano()%1e9))
	cmd := exec.Command(b.w.Bin, "guard", "--listen", sock, "--upstream", upstream,
		"--config", b.w.Config(t, fmt.Sprintf("guard%d.conf", auditLevel), conf(auditLevel)+b.guardConf()))
	cmd.Env = []string{"DBUS_SYSTEM_BUS_ADDRESS=" + b.w.Bus.Address, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	g := testsys.StartChild(t, "guard", cmd)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return "qemu:///system?socket=" + sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guard did not listen on %s within 30s:\n%s", sock, g.Output())
		}
	}
}

// listAll runs `virsh list --all --name` as u (root when u.Name is
// "root") and checks it lists want VMs of this benchmark.
func listAll(t *testing.T, uri string, u testsys.User, want int) {
	t.Helper()
	var who *testsys.User
	if u.Name != "root" {
		who = &u
	}
	out, err := testsys.VirshURI(uri, who, "list", "--all")
	if err != nil {
		t.Fatalf("virsh list --all as %s: %v\n%s", u.Name, err, out)
	}
	got := 0
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && isBenchVM(f[1]) {
			got++
		}
	}
	if got != want {
		t.Fatalf("virsh list --all as %s listed %d of the benchmark's VMs, want %d", u.Name, got, want)
	}
}

// isBenchVM reports whether name is one of benchVMNames'.
func isBenchVM(name string) bool {
	return strings.HasPrefix(name, "bench-list-own-") || (strings.HasPrefix(name, "tenant") && strings.Contains(name, "-list-"))
}

// defineAll defines the VMs in one virsh session (commands on its
// standard input), as root.
func defineAll(t *testing.T, uri string, names []string) {
	t.Helper()
	dir := t.TempDir()
	var cmds strings.Builder
	for i, name := range names {
		f := filepath.Join(dir, name+".xml")
		xml := fmt.Sprintf(`<domain type='qemu'><name>%s</name><uuid>b1000000-0000-4000-8000-%012x</uuid>`+
			`<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`, name, i)
		if err := os.WriteFile(f, []byte(xml), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cmds, "define %s\n", f)
	}
	virshSession(t, uri, cmds.String())
}

// undefineAll undefines the VMs, as root.
func undefineAll(t *testing.T, uri string, names []string) {
	var cmds strings.Builder
	for _, name := range names {
		fmt.Fprintf(&cmds, "undefine %s\n", name)
	}
	virshSession(t, uri, cmds.String())
}

func virshSession(t *testing.T, uri, cmds string) {
	t.Helper()
	cmd := exec.Command("virsh", "-q", "-c", uri)
	cmd.Stdin = strings.NewReader(cmds)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "LC_ALL=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("virsh session: %v\n%s", err, out)
	}
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// medianRuns runs f n times and returns the median duration.
func medianRuns(t *testing.T, n int, f func()) time.Duration {
	t.Helper()
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = timed(f)
	}
	return median(ds)
}
