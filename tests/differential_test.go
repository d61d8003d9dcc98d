// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// libvirtACLRules is libvirt's own example policy for "users manage their
// own VMs", as the libvirt-doc package installs it.
const libvirtACLRules = "/usr/share/doc/libvirt-doc/examples/polkit/libvirt-acl.rules"

// virshProbe triggers one libvirt access check from virsh. libvirt first
// looks the domain up (domain:getattr), then checks the operation's own
// permissions; an operation that passes them then fails harmlessly (the
// domain is shut off and its disk does not exist).
type virshProbe struct {
	perms []string // every permission libvirt checks, in order
	args  []string // virsh arguments; "%s" is the domain name
}

var probes = []virshProbe{
	{[]string{"getattr"}, []string{"domid", "%s"}},
	{[]string{"getattr", "read"}, []string{"dumpxml", "%s"}},
	{[]string{"getattr", "read", "read_secure"}, []string{"dumpxml", "--security-info", "%s"}},
	{[]string{"getattr", "start"}, []string{"start", "%s"}},
	{[]string{"getattr", "stop"}, []string{"destroy", "%s"}},
	{[]string{"getattr", "suspend"}, []string{"suspend", "%s"}},
	{[]string{"getattr", "reset"}, []string{"reset", "%s"}},
	{[]string{"getattr", "hibernate"}, []string{"managedsave", "%s"}},
	{[]string{"getattr", "core_dump"}, []string{"dump", "%s", "/nonexistent/core"}},
	{[]string{"getattr", "screenshot"}, []string{"screenshot", "%s", "/nonexistent/shot"}},
	{[]string{"getattr", "pm_control"}, []string{"dompmsuspend", "%s", "mem"}},
	{[]string{"getattr", "write"}, []string{"autostart", "--disable", "%s"}},
}

// TestDifferentialAgainstLibvirtd asks the same questions of libvirtd (with
// access_drivers = [ "polkit" ]) and of the helper's engine, under
// libvirt's example rules, and requires the same answers.
func TestDifferentialAgainstLibvirtd(t *testing.T) {
	testsys.NeedRoot(t)
	rules, err := os.ReadFile(libvirtACLRules)
	testsys.Need(t, err == nil, libvirtACLRules+" (apt-get install libvirt-doc)")

	bus := testsys.StartBus(t)
	pk := testsys.StartPolkitd(t, bus)
	users := []testsys.User{
		namedUser(t, "userA1"), namedUser(t, "userB1"), namedUser(t, "multiUser"),
		namedUser(t, "powerUser1"), namedUser(t, "adminUser1"),
		namedUser(t, "vahdiffgrp", "groupC1"), // userC's role through a group
		namedUser(t, "vahdiffnone"),           // in no role
	}
	// libvirtd first: its machine-wide lock also keeps libvirt's example
	// rules, which deny every user they do not name, away from the other
	// tests that run a libvirtd (the guard's).
	lv := startLibvirtd(t, bus)
	pk.AddRule(t, "libvirt-acl", string(rules))
	domains := map[string]string{
		"a-vahdiff": "a0000000-0000-4000-8000-00000000000a",
		"b-vahdiff": "b0000000-0000-4000-8000-00000000000b",
		"c-vahdiff": "c0000000-0000-4000-8000-00000000000c",
		"x-vahdiff": "f0000000-0000-4000-8000-00000000000f",
	}
	for name, uuid := range domains {
		lv.define(t, name, uuid)
	}
	engine := newPolkitEngine(t, bus)

	var allowed, denied, mismatches int
	for _, u := range users {
		subject := userProcess(t, u)
		for name, uuid := range domains {
			obj, err := acl.NewObject(acl.Domain, "QEMU", map[string]string{"domain_name": name, "domain_uuid": uuid})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range probes {
				theirs := libvirtAllows(t, lv, u, name, p)
				ours := engineAllows(t, engine, subject, obj, p.perms)
				if theirs != ours {
					mismatches++
					t.Errorf("%s on %s, %v: libvirtd allowed=%v, helper allowed=%v", u.Name, name, p.perms, theirs, ours)
				}
				if ours {
					allowed++
				} else {
					denied++
				}
			}
		}
	}
	t.Logf("%d cases: %d allowed, %d denied, %d mismatches", allowed+denied, allowed, denied, mismatches)
	if allowed == 0 || denied == 0 {
		t.Errorf("the cases must include both allows (%d) and denies (%d)", allowed, denied)
	}
}

func newPolkitEngine(t *testing.T, bus *testsys.Bus) *access.Engine {
	t.Helper()
	return newCachedEngine(t, bus, nil)
}

// newCachedEngine is an engine asking the polkitd on bus, caching its
// answers for a minute, auditing to auditor (none when nil).
func newCachedEngine(t *testing.T, bus *testsys.Bus, auditor access.Auditor) *access.Engine {
	t.Helper()
	auth, err := polkit.Dial(context.Background(), polkit.Options{Address: bus.Address, CallTimeout: testsys.PolkitAnswerTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	cache, err := authcache.New(authcache.Options{Size: 4096, AllowTTL: time.Minute, DenyTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e, err := access.New(access.Options{
		Drivers: []access.Driver{access.NewPolkit(auth)}, Cache: cache, DriverTimeout: testsys.PolkitAnswerTimeout,
		Auditor: auditor,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func userProcess(t *testing.T, u testsys.User) proc.Process {
	t.Helper()
	p, err := proc.Lookup(u.Start(t).PID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// libvirtAllows runs the probe as u and reports whether libvirtd let it
// past its access checks.
func libvirtAllows(t *testing.T, lv *libvirtd, u testsys.User, domain string, p virshProbe) bool {
	t.Helper()
	args := make([]string, len(p.args))
	for i, a := range p.args {
		args[i] = strings.ReplaceAll(a, "%s", domain)
	}
	out, _ := lv.virsh(&u, args...)
	if strings.Contains(out, "failed to connect") || strings.Contains(out, "unknown command") {
		t.Fatalf("virsh %v as %s: %s", args, u.Name, out)
	}
	// A denied lookup (domain:getattr) shows as virsh failing to find the
	// domain, which exists: libvirt hides objects a client may not see.
	return !strings.Contains(out, "access denied") && !strings.Contains(out, "failed to get domain")
}

// engineAllows reports whether the helper allows every permission libvirt
// checks for the probe.
func engineAllows(t *testing.T, e *access.Engine, subject proc.Process, obj acl.Object, perms []string) bool {
	t.Helper()
	for _, name := range perms {
		perm, err := acl.ParsePermission(acl.Domain, name)
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.Check(context.Background(), access.Request{Subject: subject, Object: obj, Permission: perm})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason == access.Unavailable {
			t.Fatalf("polkit unavailable: %v", d.Err)
		}
		if !d.Allowed {
			return false
		}
	}
	return true
}
