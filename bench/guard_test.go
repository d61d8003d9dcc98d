// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/libvirtclient"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// guardCalls is how many DOMAIN_GET_STATE calls are timed each way.
const guardCalls = 5000

// The guard client's environment (TestBenchGuardClient).
const (
	envDirect = "VAH_BENCH_LIBVIRTD" // libvirtd's socket
	envGuard  = "VAH_BENCH_GUARD"    // the guard's socket
	envVM     = "VAH_BENCH_VM"       // the defined VM's name
	envCalls  = "VAH_BENCH_CALLS"
)

// guardResult prefixes the client's result lines: the socket's kind and
// its Latency as JSON.
const guardResult = "guard-bench:"

// benchVM is a TCG guest that is only defined, never started.
const benchVM = `<domain type='qemu'><name>%s</name><uuid>b0000000-0000-4000-8000-0000000000ff</uuid>
  <memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`

// guard measures a small libvirt call, DOMAIN_GET_STATE on one defined
// VM, made by the benchmark's user straight to a real libvirtd and
// through the built guard in front of it (the decision cached after the
// first call), in the same run, with a raw client: one connection each
// way, one lookup, then the calls, so no virsh start-up is measured.
//
// It runs as a subtest, so that its libvirtd, and the machine-wide lock
// StartLibvirtd holds, are gone before guardList starts one: a second
// StartLibvirtd in the same test waited for the first's lock for ever.
func (b *bench) guard() {
	outer := b.t
	outer.Run("the guard, one call", func(t *testing.T) {
		b.t = t
		defer func() { b.t = outer }()
		b.guardCall()
	})
}

func (b *bench) guardCall() {
	lv := testsys.StartLibvirtd(b.t, testsys.LibvirtdOptions{}) // no access control of its own
	// A killed earlier run leaves its VMs defined (they are named by
	// its token), and their fixed UUIDs would refuse this run's.
	for _, uuid := range []string{"b0000000-0000-4000-8000-0000000000ff", "b0000000-0000-4000-8000-0000000000fe"} {
		lv.Virsh(nil, "undefine", uuid) // fails harmlessly when not defined
	}
	vm := "bench-guard-" + b.token
	lv.Define(b.t, vm, fmt.Sprintf(benchVM, vm))
	sock := filepath.Join(b.w.Dir, "guard.sock")
	b.startGuard(b.w.Config(b.t, "guard.conf", conf(0)+b.guardConf()), sock, lv.Socket)
	defineVM := "bench-define-" + b.token
	b.t.Cleanup(func() { lv.Virsh(nil, "undefine", defineVM) })
	out := testsys.RunTestAs(b.t, b.user, "TestBenchGuardClient", map[string]string{
		envDirect: lv.Socket, envGuard: sock, envVM: vm, envCalls: strconv.Itoa(guardCalls),
		envDefine: b.defineDoc(defineVM)})
	lat := map[string]Latency{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		kind, data, ok := strings.Cut(strings.TrimPrefix(sc.Text(), guardResult+" "), " ")
		if !ok || !strings.HasPrefix(sc.Text(), guardResult) {
			continue
		}
		var l Latency
		if err := json.Unmarshal([]byte(data), &l); err != nil {
			b.t.Fatalf("guard client's %s result %q: %v", kind, data, err)
		}
		lat[kind] = l
	}
	direct, guarded := lat["libvirtd"], lat["guard"]
	if direct.N == 0 || guarded.N == 0 {
		b.t.Fatalf("the guard client reported no results:\n%s", out)
	}
	b.report.timing("DOMAIN_GET_STATE, straight to libvirtd", direct, "calls/s")
	b.report.timing("DOMAIN_GET_STATE, through the guard (cached)", guarded, "calls/s")
	b.report.add("ratio", "through the guard p50 / straight to libvirtd p50 (DOMAIN_GET_STATE)",
		float64(guarded.P50)/float64(max(direct.P50, 1)), "x")
	b.defineRows(lat)
}

// startGuard runs the built guard on sock in front of upstream, as root,
// until cleanup (SIGTERM, by pid), and waits until it accepts.
func (b *bench) startGuard(conf, sock, upstream string) {
	cmd := exec.Command(b.w.Bin, "guard", "--listen", sock, "--upstream", upstream, "--config", conf)
	cmd.Env = []string{"DBUS_SYSTEM_BUS_ADDRESS=" + b.w.Bus.Address, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := testsys.StartProcess(cmd); err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if b.t.Failed() {
			b.t.Logf("guard's log:\n%s", log.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the guard did not listen on %s:\n%s", sock, log.String())
		}
	}
}

// TestBenchGuardClient is the guard benchmark's client, run by
// RunTestAs as the benchmark's user (the guard identifies it by
// SO_PEERCRED): it times DOMAIN_GET_STATE calls through the guard and
// straight to libvirtd and prints each Latency on a guardResult line.
func TestBenchGuardClient(t *testing.T) {
	if os.Getenv(envGuard) == "" {
		// Not a skip: CI counts skips as failures, and alone this has
		// nothing to measure.
		t.Log("the client of TestBench's guard rows; nothing to do on its own")
		return
	}
	n, err := strconv.Atoi(os.Getenv(envCalls))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ kind, sock string }{{"guard", os.Getenv(envGuard)}, {"libvirtd", os.Getenv(envDirect)}} {
		l, err := getStates(s.sock, os.Getenv(envVM), n)
		if err != nil {
			t.Fatalf("%s: %v", s.kind, err)
		}
		data, _ := json.Marshal(l)
		fmt.Printf("%s %s %s\n", guardResult, s.kind, data)
	}
	if doc := os.Getenv(envDefine); doc != "" {
		if err := printDefines(os.Getenv(envGuard), os.Getenv(envDirect), doc); err != nil {
			t.Fatal(err)
		}
	}
}

// getStates opens qemu:///system on sock, looks vm up once, makes one
// untimed call (through the guard, the one polkit decides), then times n.
func getStates(sock, vm string, n int) (Latency, error) {
	return timeCalls(sock, n, func(c *libvirtclient.Client) (func(int) error, error) {
		dom, err := c.LookupDomain(vm)
		if err != nil {
			return nil, fmt.Errorf("lookup %s: %w", vm, err)
		}
		return func(int) error {
			var ret proto.RemoteDomainGetStateRet
			return c.Do(proto.RemoteProcDomainGetState, &proto.RemoteDomainGetStateArgs{Dom: dom}, &ret)
		}, nil
	})
}

// timeCalls opens qemu:///system on sock, gets the call to time from
// prepare, makes it once untimed (through the guard, the one polkit
// decides), then times n.
func timeCalls(sock string, n int, prepare func(c *libvirtclient.Client) (func(int) error, error)) (Latency, error) {
	c, err := libvirtclient.Dial(sock)
	if err != nil {
		return Latency{}, err
	}
	defer c.Close()
	if err := c.Open("qemu:///system"); err != nil {
		return Latency{}, fmt.Errorf("open: %w", err)
	}
	op, err := prepare(c)
	if err != nil {
		return Latency{}, err
	}
	if err := op(0); err != nil {
		return Latency{}, fmt.Errorf("first call: %w", err)
	}
	return loop(n, op)
}
