// SPDX-License-Identifier: Apache-2.0

// Package policy renders polkit action definitions (polkit's policyconfig-1
// XML) from the acl model, and defines the helper's own polkit actions.
//
// The libvirt action file it renders declares the same 105 actions with the
// same defaults as libvirt's org.libvirt.api.policy, so the helper can be
// installed with or without libvirt; see polkit(8) for the file format.
package policy

import (
	"fmt"
	"io"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// Authorization values for a polkit action's defaults.
const (
	Yes       = "yes"
	No        = "no"
	AuthAdmin = "auth_admin"
)

// The helper's own actions. Root may always do these; anyone else needs a
// polkit rule that returns YES, since the helper never asks interactively.
const (
	ActionCheckOther = "io.github.virt-acl-helper.check-other"
	ActionFlush      = "io.github.virt-acl-helper.flush"
	ActionStats      = "io.github.virt-acl-helper.stats"
)

// ActionCreateOwn lets a user define a new domain through the guard and
// own it (README "Users who create their own VMs"). polkit answers it
// without knowing which UUIDs exist, which no org.libvirt.api action can
// for a domain that does not exist yet. Nobody holds it by default; roles
// grant it (a grant with domain = "new").
const ActionCreateOwn = "io.github.virt-acl-helper.domain.create-own"

// Defaults are an action's implicit authorizations for subjects in any,
// inactive and active sessions.
type Defaults struct{ Any, Inactive, Active string }

// Action is one polkit action definition.
type Action struct {
	ID          string
	Description string
	Message     string
	Defaults    Defaults
}

// Set is a file of action definitions with its vendor.
type Set struct {
	Vendor    string
	VendorURL string
	Actions   []Action
}

// Libvirt returns libvirt's API actions, one per permission of the model, in
// the order of libvirt's own file.
func Libvirt() Set {
	var actions []Action
	for _, p := range acl.Permissions() {
		d := No
		if p.Anonymous() {
			d = Yes
		}
		actions = append(actions, Action{
			ID:          p.ActionID(),
			Description: p.Description(),
			Message:     p.Message(),
			Defaults:    Defaults{d, d, d},
		})
	}
	return Set{Vendor: "Libvirt Project", VendorURL: "https://libvirt.org", Actions: actions}
}

// Helper returns the helper's own actions. Each admits only
// administrators, except create-own, which admits nobody by default.
func Helper() Set {
	admin := Defaults{No, No, AuthAdmin}
	return Set{
		Vendor:    "virt-acl-helper",
		VendorURL: "https://github.com/virt-acl-helper/virt-acl-helper",
		Actions: []Action{
			{ActionCheckOther, "Check libvirt permissions of another process",
				"Checking the libvirt permissions of another process requires authorization", admin},
			{ActionFlush, "Flush cached libvirt access decisions",
				"Flushing cached libvirt access decisions requires authorization", admin},
			{ActionStats, "Read libvirt access decision statistics",
				"Reading libvirt access decision statistics requires authorization", admin},
			{ActionCreateOwn, "Define new libvirt domains and own them",
				"Defining a new virtual machine of your own requires authorization", Defaults{No, No, No}},
		},
	}
}

const header = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD polkit Policy Configuration 1.0//EN"
    "http://www.freedesktop.org/software/polkit/policyconfig-1.dtd">
`

// WriteTo writes the set as a polkit action file, formatted like libvirt's
// generated one.
func (s Set) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("<policyconfig>\n")
	fmt.Fprintf(&b, "  <vendor>%s</vendor>\n", escape(s.Vendor))
	fmt.Fprintf(&b, "  <vendor_url>%s</vendor_url>\n", escape(s.VendorURL))
	for _, a := range s.Actions {
		fmt.Fprintf(&b, "  <action id=\"%s\">\n", escape(a.ID))
		fmt.Fprintf(&b, "    <description>%s</description>\n", escape(a.Description))
		fmt.Fprintf(&b, "    <message>%s</message>\n", escape(a.Message))
		b.WriteString("    <defaults>\n")
		fmt.Fprintf(&b, "      <allow_any>%s</allow_any>\n", a.Defaults.Any)
		fmt.Fprintf(&b, "      <allow_inactive>%s</allow_inactive>\n", a.Defaults.Inactive)
		fmt.Fprintf(&b, "      <allow_active>%s</allow_active>\n", a.Defaults.Active)
		b.WriteString("    </defaults>\n  </action>\n")
	}
	b.WriteString("</policyconfig>\n")
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// escape escapes XML markup. Apostrophes stay as they are, as in libvirt's
// file ("domain's account").
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace
