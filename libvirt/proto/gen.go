// SPDX-License-Identifier: Apache-2.0

//go:build ignore

// gen writes the generated files of package proto from a libvirt source
// tree (tests/libvirt-source.sh fetches one):
//
//	go run gen.go -src ~/.cache/virt-acl-helper/libvirt-9.0.0
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/virt-acl-helper/virt-acl-helper/internal/xdrgen"
)

func main() {
	src := flag.String("src", "", "libvirt "+xdrgen.LibvirtVersion+" source tree")
	out := flag.String("o", ".", "output directory")
	flag.Parse()
	if *src == "" {
		log.Fatal("gen: -src is empty (did tests/libvirt-source.sh fail?)")
	}
	spec, err := xdrgen.Load(*src)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	files, err := xdrgen.Generate(spec, xdrgen.Options{
		Package: "proto",
		Version: xdrgen.LibvirtVersion,
		Command: "libvirt/proto/gen.go",
	})
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			log.Fatalf("gen: %v", err)
		}
	}
}
