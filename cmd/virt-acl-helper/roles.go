// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
)

// rolesCommands are the subcommands of roles.
func rolesCommands() map[string]command {
	return map[string]command{
		"list":    {"list roles and grants (and check the files)", runRolesList},
		"show":    {"show --user U: what a user may do, on which objects", runRolesShow},
		"explain": {"explain --user U OBJECT PERMISSION [--name N | --uuid U]: why a request is allowed or not", runRolesExplain},
		"grant":   {"grant ROLE --user U|--group G OBJECT --name N|--uuid U|--all: grant, then apply", runRolesGrant},
		"revoke":  {"revoke ROLE --user U|--group G OBJECT --name N|--uuid U|--all: revoke, then apply", runRolesRevoke},
		"apply":   {"render the polkit rule from the roles and install it, checked by polkitd", runRolesApply},
	}
}

func runRoles(args []string, stdout, stderr io.Writer) int {
	return runGroup("roles", rolesCommands(), args, stdout, stderr)
}

// rolesFlags are the flags of every roles command.
type rolesFlags struct {
	dir *string
}

func addRolesFlags(fs *flag.FlagSet) rolesFlags {
	return rolesFlags{dir: fs.String("dir", roles.DefaultDir, "directory of roles.toml and roles.d/")}
}

func (f rolesFlags) load() (*roles.Policy, error) {
	return roles.Load(*f.dir, roles.System{})
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("roles "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func runRolesList(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("list", stderr)
	rf := addRolesFlags(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return 2
	}
	pol, err := rf.load()
	if err != nil {
		fmt.Fprintf(stderr, "roles list: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tDEFINED\tPERMISSIONS")
	for _, n := range pol.RoleNames() {
		r := pol.Roles[n]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, r.Source, permList(r.Perms))
	}
	fmt.Fprintln(tw, "\nGRANT\tROLE\tTO\tON")
	for _, g := range pol.Grants {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Source, g.Role, g.Subject, objectName(g))
	}
	tw.Flush()
	return 0
}

func objectName(g roles.Grant) string {
	if g.Name != "" {
		return fmt.Sprintf("%s (%s)", g.Object, g.Name)
	}
	return g.Object.String()
}

// permList writes permissions grouped by type: "domain:getattr,read connect:getattr".
func permList(ps []acl.Permission) string {
	var parts []string
	var cur acl.ObjectType
	for _, p := range ps {
		if p.Object() != cur {
			cur = p.Object()
			parts = append(parts, cur.String()+":"+p.Name())
			continue
		}
		parts[len(parts)-1] += "," + p.Name()
	}
	return strings.Join(parts, " ")
}

func runRolesShow(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("show", stderr)
	rf := addRolesFlags(fs)
	user := fs.String("user", "", "the user (required)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *user == "" {
		fmt.Fprintln(stderr, "usage: virt-acl-helper roles show --user USER [--dir DIR]")
		return 2
	}
	pol, who, err := loadWho(rf, *user)
	if err != nil {
		fmt.Fprintf(stderr, "roles show: %v\n", err)
		return 1
	}
	ents := pol.Show(who)
	if len(ents) == 0 {
		fmt.Fprintf(stdout, "%s has no roles\n", *user)
		return 0
	}
	for _, e := range ents {
		fmt.Fprintf(stdout, "%s on %s, by %s (%s):\n", e.Grant.Role, objectName(e.Grant), e.Grant.Subject, e.Grant.Source)
		fmt.Fprintf(stdout, "    %s\n", permList(append(e.Connect, e.Object...)))
	}
	return 0
}

// loadWho loads the policy and the user's groups.
func loadWho(rf rolesFlags, user string) (*roles.Policy, roles.Who, error) {
	pol, err := rf.load()
	if err != nil {
		return nil, roles.Who{}, err
	}
	groups, err := roles.GroupsOf(user)
	if err != nil {
		return nil, roles.Who{}, fmt.Errorf("user %q: %w", user, err)
	}
	return pol, roles.Who{User: user, Groups: groups}, nil
}

func runRolesExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", stderr)
	rf := addRolesFlags(fs)
	of := addTargetFlags(fs)
	user := fs.String("user", "", "the user asking (required)")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 2 || *user == "" {
		fmt.Fprintln(stderr, "usage: virt-acl-helper roles explain --user USER OBJECT PERMISSION [--name N | --uuid U] [--uri URI] [--dir DIR]")
		return 2
	}
	perm, uuid, err := of.request(pos[0], pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "roles explain: %v\n", err)
		return 2
	}
	pol, who, err := loadWho(rf, *user)
	if err != nil {
		fmt.Fprintf(stderr, "roles explain: %v\n", err)
		return 1
	}
	e := pol.Explain(roles.Request{Who: who, Perm: perm, UUID: uuid})
	fmt.Fprintf(stdout, "%s %s: %s\n", *user, perm, e)
	if e.Allowed {
		return 0
	}
	return 1
}
