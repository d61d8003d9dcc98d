// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

func TestGrantRevoke(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, MainFile), []byte(mainFile), 0o644); err != nil {
		t.Fatal(err)
	}
	g := Grant{Role: "viewer", Subject: Subject{User: "carol"}, Object: Object{acl.Domain, uuidDave}, Name: "vm-dave"}
	e, err := AddGrant(dir, g, accts)
	if err != nil {
		t.Fatalf("AddGrant: %v", err)
	}
	if got := e.Grant.Source.String(); got != ManagedPath(dir)+":5" || e.Grant.Name != "vm-dave" {
		t.Errorf("new grant %s at %s", e.Grant, got)
	}
	if _, err := AddGrant(dir, g, accts); err == nil || !strings.Contains(err.Error(), "already granted") {
		t.Errorf("granting twice: %v", err)
	}
	bad := Grant{Role: "viewer", Subject: Subject{User: "mallory"}, Object: Object{acl.Domain, uuidDave}}
	if _, err := AddGrant(dir, bad, accts); err == nil || !strings.Contains(err.Error(), `unknown user "mallory"`) {
		t.Errorf("granting to an unknown user: %v", err)
	}
	written := Grant{Role: "operator", Subject: Subject{User: "carol"}, Object: Object{acl.Domain, uuidCarol}}
	if _, err := RemoveGrant(dir, written, accts); err == nil || !strings.Contains(err.Error(), "roles.toml:7:") {
		t.Errorf("revoking a hand-written grant: %v", err)
	}
	upper := g
	upper.Object.UUID = strings.ToUpper(uuidDave)
	e, err = RemoveGrant(dir, g, accts)
	if err != nil {
		t.Fatalf("RemoveGrant: %v", err)
	}
	if len(e.Policy.Grants) != 2 || e.Grant.Name != "vm-dave" {
		t.Errorf("after revoke: %d grants, removed %s", len(e.Policy.Grants), e.Grant)
	}
	if _, err := RemoveGrant(dir, upper, accts); err == nil || !strings.Contains(err.Error(), "no such grant") {
		t.Errorf("revoking twice: %v", err)
	}
	main, _ := os.ReadFile(filepath.Join(dir, MainFile))
	if string(main) != mainFile {
		t.Error("grant or revoke changed roles.toml")
	}
}

func TestWriteFileReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.rules")
	for _, s := range []string{"one", "two"} {
		if err := WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if string(got) != "two" || len(left) != 0 {
		t.Errorf("file %q, leftovers %v", got, left)
	}
}
