// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// xmlPolicyCommands are the subcommands of xml-policy.
func xmlPolicyCommands() map[string]command {
	return map[string]command{
		"check":    {"check [--policy FILE] [--kind KIND] FILE.xml...: would the guard let a non-admin send this XML? (exit 0 passes, 1 refused)", runXMLPolicyCheck},
		"validate": {"validate [FILE]: check a policy file (default " + xmlpolicy.DefaultPath + ")", runXMLPolicyValidate},
		"default":  {"print the built-in default policy file", runXMLPolicyDefault},
	}
}

func runXMLPolicy(args []string, stdout, stderr io.Writer) int {
	cmds := xmlPolicyCommands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w, status := stderr, 2
		if len(args) > 0 {
			w, status = stdout, 0
		}
		fmt.Fprintln(w, "usage: virt-acl-helper xml-policy <command> [options]\n\ncommands:")
		listCommands(w, cmds)
		return status
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "xml-policy: unknown command %q\n", args[0])
		return 2
	}
	return cmd.run(args[1:], stdout, stderr)
}

// loadXMLPolicy loads path; with no path, the installed file, or the
// built-in default when none is installed (said on stderr).
func loadXMLPolicy(path string, stderr io.Writer) (*xmlpolicy.Policy, error) {
	if path != "" {
		return xmlpolicy.Load(path)
	}
	p, err := xmlpolicy.Load(xmlpolicy.DefaultPath)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "xml-policy: %s not found, using the built-in default policy\n", xmlpolicy.DefaultPath)
		return xmlpolicy.Default(), nil
	}
	return p, err
}

func runXMLPolicyCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xml-policy check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	policy := fs.String("policy", "", "policy file (default "+xmlpolicy.DefaultPath+", or the built-in one when that is missing)")
	kindName := fs.String("kind", "domain", "what the files are: domain, device, snapshot, backup, checkpoint, blockcopy")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: virt-acl-helper xml-policy check [--policy FILE] [--kind KIND] FILE.xml... (- reads stdin)")
		return 2
	}
	kind, err := xmlpolicy.ParseKind(*kindName)
	if err != nil {
		fmt.Fprintf(stderr, "xml-policy check: %v\n", err)
		return 2
	}
	p, err := loadXMLPolicy(*policy, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "xml-policy check: %v\n", err)
		return 2
	}
	status := 0
	for _, name := range fs.Args() {
		if s := checkXMLFile(p, kind, name, stdout, stderr); s > status {
			status = s
		}
	}
	return status
}

// checkXMLFile prints whether one file passes, and every violation.
func checkXMLFile(p *xmlpolicy.Policy, kind xmlpolicy.Kind, name string, stdout, stderr io.Writer) int {
	var doc []byte
	var err error
	if name == "-" {
		doc, err = io.ReadAll(os.Stdin)
	} else {
		doc, err = os.ReadFile(name)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xml-policy check: %v\n", err)
		return 2
	}
	uses, vs := p.CheckAll(kind, doc)
	if len(vs) == 0 {
		fmt.Fprintf(stdout, "%s: passes%s\n", name, describeUses(uses))
		return 0
	}
	fmt.Fprintf(stdout, "%s: refused, %d violation(s):\n", name, len(vs))
	for _, v := range vs {
		fmt.Fprintf(stdout, "  %s\n    rule %s: %s\n", v.Path, v.Rule, v.Reason)
	}
	return 1
}

// describeUses says what the guard will still ask the engine about.
func describeUses(u xmlpolicy.Uses) string {
	var parts []string
	if u.Name != "" {
		parts = append(parts, "name "+u.Name)
	}
	if u.UUID != "" {
		parts = append(parts, "uuid "+u.UUID)
	}
	for _, v := range u.Volumes {
		parts = append(parts, "volume "+v.Pool+"/"+v.Name)
	}
	for _, n := range u.Networks {
		parts = append(parts, "network "+n)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (the guard also checks the user may use: " + strings.Join(parts, ", ") + ")"
}

func runXMLPolicyValidate(args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 || (len(args) == 1 && strings.HasPrefix(args[0], "-")) {
		fmt.Fprintln(stderr, "usage: virt-acl-helper xml-policy validate [FILE]")
		return 2
	}
	path := xmlpolicy.DefaultPath
	if len(args) == 1 {
		path = args[0]
	}
	if _, err := xmlpolicy.Load(path); err != nil {
		fmt.Fprintf(stderr, "xml-policy validate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid\n", path)
	return 0
}

func runXMLPolicyDefault(args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: virt-acl-helper xml-policy default")
		return 2
	}
	stdout.Write(xmlpolicy.DefaultFile())
	return 0
}
