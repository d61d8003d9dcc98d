// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/internal/xdrgen"
)

// TestGeneratedFilesAreFresh regenerates the package from libvirt's source
// (tests/libvirt-source.sh) and compares with the committed files byte for
// byte, as gen.go would write them.
func TestGeneratedFilesAreFresh(t *testing.T) {
	src := testsys.LibvirtSource(t, xdrgen.LibvirtVersion)
	spec, err := xdrgen.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	files, err := xdrgen.Generate(spec, xdrgen.Options{
		Package: "proto",
		Version: xdrgen.LibvirtVersion,
		Command: "libvirt/proto/gen.go",
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s: %v (run go generate ./libvirt/proto)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what %s generates (run go generate ./libvirt/proto)", name, src)
		}
	}
	types, _ := filepath.Glob("*_types.go")
	procs, _ := filepath.Glob("*_procs.go")
	for _, name := range append(types, procs...) {
		if _, ok := files[name]; !ok {
			t.Errorf("%s looks generated but the generator no longer writes it", name)
		}
	}
}
