// SPDX-License-Identifier: Apache-2.0

//go:build ignore

// gen writes the polkit action files of the model into ../polkit-actions.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/virt-acl-helper/virt-acl-helper/policy"
)

func main() {
	for name, set := range policy.Files() {
		f, err := os.Create(filepath.Join("..", "polkit-actions", name))
		if err != nil {
			log.Fatal(err)
		}
		if _, err := set.WriteTo(f); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}
