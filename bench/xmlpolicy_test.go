// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// xmlPolicy adds the content policy's cost per define: a virt-install
// definition (q35, SPICE, a pool volume) against the default policy, in
// process, as the guard checks it before forwarding the call.
func (b *bench) xmlPolicy() {
	doc, err := os.ReadFile(filepath.Join("..", "xmlpolicy", "testdata", "accepted", "virt-install-q35-spice.xml"))
	if err != nil {
		b.t.Fatal(err)
	}
	p := xmlpolicy.Default()
	r := testing.Benchmark(func(tb *testing.B) {
		tb.ReportAllocs()
		for tb.Loop() {
			if _, err := p.Check(xmlpolicy.Domain, doc); err != nil {
				tb.Fatal(err)
			}
		}
	})
	b.report.add("XML policy, per define", "virt-install q35 definition, default policy", float64(r.NsPerOp())/1000, "us")
	b.report.add("XML policy, per define", "allocations", float64(r.AllocsPerOp()), "allocs")
}
