// SPDX-License-Identifier: Apache-2.0

// Package xmlpolicy is a content policy for libvirt domain XML written by
// users who are not admins.
//
// libvirt's access control sees the permission (domain:write), never the
// XML: whoever may define a VM may point a disk at /etc/shadow, run a
// script as root from an interface, or pass -device to QEMU (libvirt says
// so itself, LSN-2015-0004). A Policy closes that gap for the guard: it
// parses a document strictly, the way libxml2 would read it or not at all,
// and lets through only the elements and attributes its file names, with
// their values constrained, so that what a user defines cannot reach a host
// path, a host device, the host network or the QEMU command line.
//
// The policy is a TOML file of named rules (see default.toml, which is
// embedded and is the built-in Default). Every refusal is a *Violation
// naming the element or attribute (an XPath-like path) and the rule.
//
// Check also returns Uses: the storage volumes, networks, name and UUID a
// document names, which the policy cannot judge alone (does the user own
// that volume, that name?) and the guard asks the decision engine about.
package xmlpolicy
