// SPDX-License-Identifier: Apache-2.0

// Package polkit asks polkit whether a process may perform an action: it is
// a client of the org.freedesktop.PolicyKit1.Authority D-Bus interface on
// the system bus, shaped after what libvirt's polkit access driver sends
// (src/access/viraccessdriverpolkit.c, src/util/virpolkit.c): a
// unix-process subject, no user interaction, libvirt's details.
//
// An Authority keeps one private bus connection, reconnects in the
// background when it breaks, and reports on its Events channel every
// change after which cached decisions may be stale: polkit's Changed
// signal, polkitd starting or stopping, and the connection being lost and
// re-established.
//
// Check fails closed: every error means "no decision", and an error never
// comes with an authorized Result.
//
// The D-Bus API is documented at
// https://www.freedesktop.org/software/polkit/docs/latest/eggdbus-interface-org.freedesktop.PolicyKit1.Authority.html
package polkit
