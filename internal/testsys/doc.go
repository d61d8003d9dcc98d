// SPDX-License-Identifier: Apache-2.0

// Package testsys starts the real system pieces that virt-acl-helper talks
// to, for integration tests: a private D-Bus system bus (dbus-daemon), a
// polkitd on that bus, polkit rule files, real users with real processes,
// and a real libvirtd (with virtlogd), one at a time on the machine. It is
// imported only by _test.go files.
//
// Every helper takes the test's testing.TB, registers its own cleanup with
// t.Cleanup, and ends only the processes it started (by pid, after which it
// reaps them). Helpers that cannot run here (not root, a binary missing)
// skip the test, except under Integration(), where they fail it: CI must
// never pass by skipping.
//
// The helpers are safe to call many times from one test binary and from
// parallel tests: sockets, rule files and user names are unique per call.
// Several test binaries (go test ./...) may run them at the same time.
package testsys
