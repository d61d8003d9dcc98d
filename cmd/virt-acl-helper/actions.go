// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
)

func runActions(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("actions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	polkit := fs.Bool("polkit", false, "print the polkit action file of libvirt's API actions instead of the table")
	own := fs.Bool("own", false, "with --polkit: print the helper's own actions (check-other, flush, stats) instead")
	object := fs.String("object", "", "show only this object type")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "actions: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *own && !*polkit {
		fmt.Fprintln(stderr, "actions: --own goes with --polkit")
		return 2
	}
	if *polkit {
		set := policy.Libvirt()
		if *own {
			set = policy.Helper()
		}
		return printPolicy(set, stdout, stderr)
	}
	types := acl.Types()
	if *object != "" {
		t, err := acl.ParseObjectType(*object)
		if err != nil {
			fmt.Fprintf(stderr, "actions: %v\n", err)
			return 2
		}
		types = []acl.ObjectType{t}
	}
	printTable(stdout, types)
	return 0
}

func printPolicy(set policy.Set, stdout, stderr io.Writer) int {
	if _, err := set.WriteTo(stdout); err != nil {
		fmt.Fprintf(stderr, "actions: %v\n", err)
		return 1
	}
	return 0
}

func printTable(w io.Writer, types []acl.ObjectType) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tPERMISSION\tANONYMOUS\tPOLKIT ACTION\tDESCRIPTION")
	for _, t := range types {
		for _, p := range t.Permissions() {
			anon := "no"
			if p.Anonymous() {
				anon = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t, p.Name(), anon, p.ActionID(), p.Description())
		}
	}
	tw.Flush()
}
