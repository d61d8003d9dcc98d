// SPDX-License-Identifier: Apache-2.0

// Package packages tests the distribution packages that "make packages"
// builds: the .deb with lintian, the .rpm with rpmlint and against the
// .deb's file list and scriptlets, the systemd units with systemd-analyze,
// and the installed .deb under a real systemd booted in a container
// (socket activation, polkit, audit, idle exit, restart, removal, purge).
//
// The tests build the packages once, from the working tree, into a
// temporary directory. They need root, dpkg-dev, debhelper, lintian, rpm,
// rpmlint, systemd-container and auditd (tests/setup-host.sh installs
// them).
package packages
