// SPDX-License-Identifier: Apache-2.0

// Package daemontest runs the built virt-acl-helper daemon the way a host
// runs it, for the fault tests, the load test and the benchmark: the
// binary built from this tree, a private system bus with a real polkitd,
// and the socket held by an activator (systemd-socket-activate, or the
// test itself playing systemd, so the daemon can be killed and started
// again on the same socket). Like testsys, it needs root.
package daemontest
