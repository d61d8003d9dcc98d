// SPDX-License-Identifier: Apache-2.0

package daemon_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
)

// BenchmarkCheck compares a cached decision asked over the daemon's socket
// (with audit_level = 1, so each decision is audited) with the polkit
// round trip libvirt makes for every check. Both ask about a real process
// of a test user, so polkitd runs its rules. Sub-benchmark "ratio" reports
// how many times faster the socket is, at the median and in throughput.
// The benchmark runs as root; root's own checks are cached like anyone's.
//
//	go test -run '^$' -bench BenchmarkCheck ./daemon
func BenchmarkCheck(b *testing.B) {
	w := newWorld(b)
	d := w.startActivated(b, w.Config(b, "c.conf", "access_drivers = [ \"polkit\" ]\naudit_level = 1\n"))
	alice := w.alice.Start(b)
	self := accessapi.CheckParams{Object: vm("alice-vm", aliceUUID), Permission: "start"}
	onBehalf := self
	onBehalf.Subject = alice.Subject()
	var socketSelf, socketOther, direct latencies

	// The caller asking about itself, as a libvirt client would.
	b.Run("socket-cached-self", func(b *testing.B) { socketSelf = measureSocket(b, d, self) })
	// Root asking about alice's process, as a proxy would: the helper
	// reads that process from /proc on every call.
	b.Run("socket-cached-on-behalf", func(b *testing.B) { socketOther = measureSocket(b, d, onBehalf) })
	b.Run("polkit-direct", func(b *testing.B) {
		auth, err := polkit.Dial(context.Background(), polkit.Options{Address: w.Bus.Address})
		if err != nil {
			b.Fatal(err)
		}
		defer auth.Close()
		subject := polkit.Subject{PID: uint32(alice.PID), StartTime: alice.StartTime, UID: alice.UID}
		details := map[string]string{"connect_driver": "QEMU", "domain_name": "alice-vm", "domain_uuid": aliceUUID}
		direct = measure(b, func() error {
			_, err := auth.Check(context.Background(), subject, "org.libvirt.api.domain.start", details)
			return err
		})
	})
	b.Run("ratio", func(b *testing.B) {
		if socketSelf.n == 0 || socketOther.n == 0 || direct.n == 0 {
			b.Skip("needs the socket and polkit-direct sub-benchmarks")
		}
		b.ReportMetric(float64(direct.p50)/float64(socketSelf.p50), "x-faster-p50-self")
		b.ReportMetric(float64(direct.p50)/float64(socketOther.p50), "x-faster-p50-on-behalf")
		b.ReportMetric(socketSelf.perSec/direct.perSec, "x-decisions/s-self")
	})
}

func measureSocket(b *testing.B, d *daemonProc, params accessapi.CheckParams) latencies {
	c := d.client(b)
	if r, err := c.Check(context.Background(), params); err != nil || !r.Allowed {
		b.Fatalf("warm-up: %+v, %v", r, err)
	}
	return measure(b, func() error {
		r, err := c.Check(context.Background(), params)
		if err == nil && !r.Cached {
			b.Fatal("not served from the cache")
		}
		return err
	})
}

// latencies summarise one measured loop.
type latencies struct {
	n        int
	p50, p99 time.Duration
	perSec   float64
}

// measure runs op b.N times, timing each, and reports decisions per
// second and the 50th and 99th percentile latency.
func measure(b *testing.B, op func() error) latencies {
	b.Helper()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	total := time.Since(start)
	b.StopTimer()
	slices.Sort(took)
	l := latencies{n: len(took), p50: took[len(took)/2], p99: took[len(took)*99/100], perSec: float64(len(took)) / total.Seconds()}
	b.ReportMetric(l.perSec, "decisions/s")
	b.ReportMetric(float64(l.p50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l.p99.Nanoseconds()), "p99-ns")
	return l
}
