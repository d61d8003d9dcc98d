// SPDX-License-Identifier: Apache-2.0

// Package accessapi is the wire contract of the helper's varlink
// interface, io.github.virt-acl-helper.access: its definition
// (access.varlink, embedded as Description), the Go types of its
// parameters and replies, its error names, and the socket it is served on
// by default.
//
// The package holds data only, so that clients (package client, the
// command line, the benchmark) can speak the interface without linking
// the decision engine, polkit or audit. Package server implements it.
package accessapi

import _ "embed"

// Interface is the name of the helper's varlink interface.
const Interface = "io.github.virt-acl-helper.access"

// Description is the interface definition of Interface, as
// org.varlink.service.GetInterfaceDescription returns it.
//
//go:embed access.varlink
var Description string

// DefaultSocket is the socket the socket unit creates (mode 0666, so every
// local user can ask about themselves), the daemon listens on when started
// by hand, and clients connect to by default.
const DefaultSocket = "/run/virt-acl-helper/virt-acl-helper.sock"

// The interface's error names. access.varlink documents each error's
// parameters.
const (
	ErrInvalidRequest           = Interface + ".InvalidRequest"
	ErrUnknownPermission        = Interface + ".UnknownPermission"
	ErrNoSuchProcess            = Interface + ".NoSuchProcess"
	ErrAuthorizationUnavailable = Interface + ".AuthorizationUnavailable"
	ErrAuditFailed              = Interface + ".AuditFailed"
	ErrNotPrivileged            = Interface + ".NotPrivileged"
	ErrRateLimited              = Interface + ".RateLimited"
	ErrTooManyConnections       = Interface + ".TooManyConnections"
)
