// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// cpuUse is the CPU time a run's processes used: the rows it adds say
// where a sustained run's time went, process by process, beside the
// same for its limits (on two cores, the sum bounds the rate). It reads
// the threads alive (processCPU): a thread that ends during a run fails
// it, its time being lost to the count.
type cpuUse struct {
	procs []cpuProc
	start []uint64
}

// cpuProc is a process whose CPU time a run reads, by its role in it.
type cpuProc struct{ role, pid string }

// self is this process: the clients, or the raw sender.
func self(role string) cpuProc { return cpuProc{role, strconv.Itoa(os.Getpid())} }

// startCPU notes what each process has used so far; call it once
// auditd is done with earlier runs (waitAuditdDone).
func startCPU(t *testing.T, procs ...cpuProc) *cpuUse {
	u := &cpuUse{procs: procs, start: make([]uint64, len(procs))}
	for i, p := range procs {
		u.start[i] = cpuOf(t, p)
	}
	return u
}

// report adds, once auditd is done with the run's records, each
// process's CPU time per call over calls: measure is the row's measure
// before the process's role.
func (u *cpuUse) report(t *testing.T, r *Report, name, measure string, calls uint64) {
	waitAuditdDone(t)
	if calls == 0 {
		t.Fatalf("%s: no calls to share the CPU time among", name)
	}
	for i, p := range u.procs {
		end := cpuOf(t, p)
		if end < u.start[i] {
			// schedstat counts the threads alive: one ended meanwhile.
			t.Fatalf("%s: the %s's CPU time went down (%d to %d ns): a thread of it ended during the run", name, p.role, u.start[i], end)
		}
		r.add(name, measure+": "+p.role, float64(end-u.start[i])/1e3/float64(calls), "µs")
	}
}

func cpuOf(t *testing.T, p cpuProc) uint64 {
	ns, err := processCPU(p.pid)
	if err != nil {
		t.Fatalf("CPU time of the %s: %v", p.role, err)
	}
	return ns
}

// auditProcs are what every record passes through after the kernel took
// it: its kauditd thread, which hands it to auditd, which logs it.
func auditProcs(t *testing.T) []cpuProc {
	st, err := testsys.AuditStatus()
	if err != nil {
		t.Fatal(err)
	}
	return []cpuProc{{"auditd", st["pid"]}, {"kauditd", kernelThread(t, "kauditd")}}
}

// kernelThread returns the pid of the kernel thread named name.
func kernelThread(t *testing.T, name string) string {
	comms, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range comms {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == name {
			return filepath.Base(filepath.Dir(path))
		}
	}
	t.Fatalf("no %s thread: is audit enabled?", name)
	return ""
}
