// SPDX-License-Identifier: Apache-2.0

// Package daemon runs the helper as a service ("virt-acl-helper serve"):
// it reads the configuration, has package engine build the decision
// engine, takes its listening sockets from systemd socket activation
// (sd_listen_fds(3)) or listens on a path, serves the varlink interface,
// reports to systemd (sd_notify(3): READY, RELOADING, STOPPING, STATUS and
// the watchdog), exits when idle so the socket starts it again on demand,
// reloads on SIGHUP and stops gracefully on SIGTERM.
package daemon
