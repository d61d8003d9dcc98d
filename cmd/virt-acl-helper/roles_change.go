// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
)

// changeFlags are the flags of the commands that change the roles.
type changeFlags struct {
	rolesFlags
	rules   *string
	noApply *bool
	noAudit *bool
	wait    *time.Duration
}

func addChangeFlags(fs *flag.FlagSet, applyFlag bool) changeFlags {
	cf := changeFlags{
		rolesFlags: addRolesFlags(fs),
		rules:      fs.String("rules", roles.DefaultRulesPath, "the polkit rule file apply writes"),
		noAudit:    fs.Bool("no-audit", false, "change even when no audit record can be written (a warning is printed)"),
		wait:       fs.Duration("wait", 10*time.Second, "how long polkitd has to load the new rule"),
	}
	if applyFlag {
		cf.noApply = fs.Bool("no-apply", false, "change the roles files only; run roles apply later")
	}
	return cf
}

func runRolesGrant(args []string, stdout, stderr io.Writer) int {
	return changeGrant("grant", roles.AddGrant, args, stdout, stderr)
}

func runRolesRevoke(args []string, stdout, stderr io.Writer) int {
	return changeGrant("revoke", roles.RemoveGrant, args, stdout, stderr)
}

type grantEdit func(dir string, g roles.Grant, accts roles.Accounts) (roles.Edit, error)

func changeGrant(op string, edit grantEdit, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(op, stderr)
	cf := addChangeFlags(fs, true)
	tf := addTargetFlags(fs)
	user := fs.String("user", "", "grant to this user")
	group := fs.String("group", "", "grant to this group")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 2 {
		fmt.Fprintf(stderr, "usage: virt-acl-helper roles %s ROLE OBJECT (--user U | --group G) (--name N | --uuid U | --all | --new) [--uri URI] [--dir DIR] [--no-apply]\n", op)
		return 2
	}
	obj, name, err := tf.object(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "roles %s: %v\n", op, err)
		return 2
	}
	g := roles.Grant{Role: pos[0], Subject: roles.Subject{User: *user, Group: *group}, Object: obj, Name: name}
	if err := cf.auditReady(stderr); err != nil {
		fmt.Fprintf(stderr, "roles %s: %v\n", op, err)
		return 1
	}
	return cf.editAndApply(op, edit, g, stdout, stderr)
}

// editAndApply makes the change under the lock, applies it unless
// --no-apply, and records it.
func (cf changeFlags) editAndApply(op string, edit grantEdit, g roles.Grant, stdout, stderr io.Writer) int {
	unlock, err := roles.Lock(*cf.dir)
	if err != nil {
		fmt.Fprintf(stderr, "roles %s: %v\n", op, err)
		return 1
	}
	defer unlock()
	e, err := edit(*cf.dir, g, roles.System{})
	if err != nil {
		cf.record(stderr, "roles-"+op, roles.ChangeFields(g, ""), false)
		fmt.Fprintf(stderr, "roles %s: %v\n", op, err)
		return 1
	}
	fmt.Fprintf(stdout, "%sed %s\n", op, e.Grant)
	applied, status := "no", 0
	if !*cf.noApply {
		if err := cf.install(e.Policy, stdout); err != nil {
			fmt.Fprintf(stderr, "roles %s: the roles changed but were not applied: %v\n", op, err)
			status = 1
		} else {
			applied = "yes"
		}
	}
	if !cf.record(stderr, "roles-"+op, roles.ChangeFields(e.Grant, applied), true) {
		status = 1
	}
	return status
}

func runRolesApply(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("apply", stderr)
	cf := addChangeFlags(fs, false)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return 2
	}
	if err := cf.auditReady(stderr); err != nil {
		fmt.Fprintf(stderr, "roles apply: %v\n", err)
		return 1
	}
	unlock, err := roles.Lock(*cf.dir)
	if err != nil {
		fmt.Fprintf(stderr, "roles apply: %v\n", err)
		return 1
	}
	defer unlock()
	pol, err := cf.load()
	if err == nil {
		err = cf.install(pol, stdout)
	}
	fields := []audit.Detail{{Key: "rules", Value: *cf.rules}}
	if pol != nil {
		fields = append(fields, audit.Detail{Key: "digest", Value: roles.Render(pol).Digest})
	}
	ok := cf.record(stderr, "roles-apply", fields, err == nil)
	if err != nil {
		fmt.Fprintf(stderr, "roles apply: %v\n", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// install renders pol and installs it, checked by the running polkitd.
func (cf changeFlags) install(pol *roles.Policy, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), *cf.wait+5*time.Second)
	defer cancel()
	auth, err := polkit.Dial(ctx, polkit.Options{})
	if err != nil {
		return fmt.Errorf("cannot check the rule with polkitd: %w", err)
	}
	defer auth.Close()
	r := roles.Render(pol)
	in := roles.Installer{Path: *cf.rules, Prober: roles.PolkitProber{Authority: auth}, Wait: *cf.wait}
	if err := in.Install(ctx, r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied: %s (%d grants, digest %s), running in polkitd\n", *cf.rules, len(pol.Grants), r.Digest)
	return nil
}

// auditReady fails when no change record could be written, unless
// --no-audit.
func (cf changeFlags) auditReady(stderr io.Writer) error {
	err := audit.ChangeWritable()
	if err == nil {
		return nil
	}
	if *cf.noAudit {
		fmt.Fprintf(stderr, "warning: this change leaves no audit record: %v\n", err)
		return nil
	}
	return fmt.Errorf("no audit record of the change could be written (%w); --no-audit changes anyway", err)
}

// record writes the change's audit record; false when it failed.
func (cf changeFlags) record(stderr io.Writer, op string, fields []audit.Detail, success bool) bool {
	err := audit.WriteChange(audit.Change{Op: op, Fields: fields, Success: success})
	if err == nil {
		return true
	}
	var aerr *audit.Error
	if *cf.noAudit && errors.As(err, &aerr) {
		return true
	}
	fmt.Fprintf(stderr, "warning: the audit record of this change was not written: %v\n", err)
	return false
}
