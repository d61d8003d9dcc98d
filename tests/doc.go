// SPDX-License-Identifier: Apache-2.0

// Package tests holds the end-to-end tests that span the whole helper and
// the real components around it (libvirtd, polkitd, the kernel audit, the
// daemon under socket activation). It has no non-test code.
package tests
