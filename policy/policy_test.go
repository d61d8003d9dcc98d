// SPDX-License-Identifier: Apache-2.0

package policy_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
)

const (
	libvirtPolicy = "/usr/share/polkit-1/actions/org.libvirt.api.policy"
	polkitDTD     = "/usr/share/polkit-1/policyconfig-1.dtd"
)

func committed(name string) string { return filepath.Join("..", "polkit-actions", name) }

func TestCommittedFilesAreGenerated(t *testing.T) {
	for name, set := range policy.Files() {
		var want bytes.Buffer
		if _, err := set.WriteTo(&want); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(committed(name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("polkit-actions/%s differs from the model: run go generate ./policy", name)
		}
	}
}

type actionKey struct{ ID, Any, Inactive, Active string }

func parseActions(t *testing.T, path string) map[actionKey]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Actions []struct {
			ID       string `xml:"id,attr"`
			Any      string `xml:"defaults>allow_any"`
			Inactive string `xml:"defaults>allow_inactive"`
			Active   string `xml:"defaults>allow_active"`
		} `xml:"action"`
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	set := map[actionKey]bool{}
	for _, a := range doc.Actions {
		k := actionKey{a.ID, a.Any, a.Inactive, a.Active}
		if set[k] {
			t.Errorf("%s: action %s defined twice", path, a.ID)
		}
		set[k] = true
	}
	return set
}

// TestMatchesInstalledLibvirtPolicy compares our action file with the one
// libvirt-daemon-system installs: the same ids with the same defaults.
func TestMatchesInstalledLibvirtPolicy(t *testing.T) {
	_, err := os.Stat(libvirtPolicy)
	testsys.Need(t, err == nil, "libvirt's polkit policy "+libvirtPolicy+" (apt-get install libvirt-daemon-system)")
	theirs := parseActions(t, libvirtPolicy)
	ours := parseActions(t, committed(policy.LibvirtFile))
	if len(ours) != 105 || len(theirs) != 105 {
		t.Errorf("ours has %d actions, libvirt's %d; want 105 each", len(ours), len(theirs))
	}
	for k := range theirs {
		if !ours[k] {
			t.Errorf("libvirt has %+v, we do not", k)
		}
	}
	for k := range ours {
		if !theirs[k] {
			t.Errorf("we have %+v, libvirt does not", k)
		}
	}
}

func TestValidatesAgainstPolkitDTD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	testsys.Need(t, err == nil, "xmllint (apt-get install libxml2-utils)")
	_, err = os.Stat(polkitDTD)
	testsys.Need(t, err == nil, "polkit's DTD "+polkitDTD)
	for name := range policy.Files() {
		out, err := exec.Command(xmllint, "--noout", "--dtdvalid", polkitDTD, committed(name)).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not validate: %v\n%s", name, err, out)
		}
	}
}

// TestHelperActionsAdmitOnlyAdministrators: create-own admits nobody by
// default (only rules grant it): the guard never asks interactively, so
// auth_admin would be a challenge, which is an error, not a clean "no".
func TestHelperActionsAdmitOnlyAdministrators(t *testing.T) {
	for _, a := range policy.Helper().Actions {
		want := policy.Defaults{Any: policy.No, Inactive: policy.No, Active: policy.AuthAdmin}
		if a.ID == policy.ActionCreateOwn {
			want = policy.Defaults{Any: policy.No, Inactive: policy.No, Active: policy.No}
		}
		if a.Defaults != want {
			t.Errorf("%s defaults %+v: must admit only administrators", a.ID, a.Defaults)
		}
	}
}
