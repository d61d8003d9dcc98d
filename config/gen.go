// SPDX-License-Identifier: Apache-2.0

//go:build ignore

// Gen writes the commented default configuration file rendered from the
// key table, so that the installed file cannot drift from the parser. It
// runs through "go generate ./config/".
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/virt-acl-helper/virt-acl-helper/config"
)

func main() {
	out := flag.String("o", "", "file to write")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -o is required")
		os.Exit(2)
	}
	if err := os.WriteFile(*out, config.DefaultFile(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
