// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCheckDefine: the policy's cost per define, a typical
// virt-install definition (q35, SPICE, a pool volume) against the default
// policy.
func BenchmarkCheckDefine(b *testing.B) {
	doc, err := os.ReadFile(filepath.Join("testdata", "accepted", "virt-install-q35-spice.xml"))
	if err != nil {
		b.Fatal(err)
	}
	p := Default()
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := p.Check(Domain, doc); err != nil {
			b.Fatal(err)
		}
	}
}
