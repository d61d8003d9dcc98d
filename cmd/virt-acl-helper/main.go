// SPDX-License-Identifier: Apache-2.0

// Command virt-acl-helper answers whether a local process may perform a
// libvirt operation, using libvirt's own access-control model and polkit
// actions, caching decisions and auditing every one.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// version is stamped at build time from the VERSION file
// (-ldflags "-X main.version=...").
var version = "devel"

// command is one subcommand: run gets the arguments after its name and
// returns the process exit status.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"actions":    {"print libvirt's object/permission table, or the polkit action files", runActions},
		"check":      {"ask the daemon whether a process may use a permission on an object (exit 0 allowed, 1 denied, 2 error)", runCheck},
		"config":     {"config check [FILE]: validate a configuration file", runConfig},
		"roles":      {"manage roles: who may do what on which VMs, enforced through polkit (list, show, explain, grant, revoke, apply)", runRoles},
		"guard":      {"serve libvirt's RPC protocol, deciding every call before libvirtd sees it (preview)", runGuard},
		"flush":      {"drop the daemon's cached decisions (root or polkit's flush action)", runFlush},
		"serve":      {"run the daemon (socket-activated by systemd, or on --listen PATH)", runServe},
		"stats":      {"print the daemon's counters (--json for scripts; root or polkit's stats action)", runStats},
		"xml-policy": {"the content policy for non-admins' domain XML (check FILE.xml, validate, default)", runXMLPolicy},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "--version", "version":
		fmt.Fprintf(stdout, "virt-acl-helper %s\n", version)
		return 0
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "virt-acl-helper: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: virt-acl-helper <command> [options]\n\ncommands:\n")
	listCommands(&b, commands())
	b.WriteString("\nvirt-acl-helper <command> -h shows a command's options; --version prints the version.\n")
	io.WriteString(w, b.String())
}

// listCommands writes one line per command, sorted by name.
func listCommands(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, cmds[name].summary)
	}
}
