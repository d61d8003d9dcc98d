// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// connectRO is VIR_CONNECT_RO (include/libvirt/libvirt-host.h).
const connectRO = 1

// libvirt's error codes and domains for the errors the guard answers
// with itself (include/libvirt/virterror.h).
const (
	errInternal   = 1  // VIR_ERR_INTERNAL_ERROR
	errRPC        = 39 // VIR_ERR_RPC
	errAuthFailed = 45 // VIR_ERR_AUTH_FAILED
	errBusy       = 87 // VIR_ERR_RESOURCE_BUSY
	fromRPC       = 7  // VIR_FROM_RPC
)

// libvirtError builds an error body as libvirt's virReportErrorHelper
// fills one (src/util/virerror.c).
func libvirtError(code, domain int32, msg string) *frame.ErrorBody {
	return &frame.ErrorBody{Code: code, Domain: domain, Message: &msg, Level: frame.LevelError, Int1: -1, Int2: -1}
}

// notOpen is libvirtd's answer to a call before CONNECT_OPEN
// (src/remote/remote_daemon_dispatch.c).
func notOpen() *frame.ErrorBody {
	return libvirtError(errInternal, fromRPC, "internal error: connection not open")
}

func alreadyOpen() *frame.ErrorBody {
	return libvirtError(errInternal, fromRPC, "internal error: connection already open")
}

func authUnsupported() *frame.ErrorBody {
	return libvirtError(errAuthFailed, fromRPC,
		"authentication failed: the guard authenticates clients by their UNIX credentials only (auth none)")
}

// malformed answers a call the guard cannot decode or does not know.
func malformed(what string) *frame.ErrorBody {
	return libvirtError(errRPC, fromRPC, "RPC error: call refused by virt-acl-helper guard: "+what)
}

// rateLimited answers a call over rate_limit: an error, not a decision
// (the call was not decided; the generation's summary accounts for it).
func rateLimited(perSecond float64) *frame.ErrorBody {
	return libvirtError(errBusy, fromRPC, fmt.Sprintf(
		"resource busy: virt-acl-helper guard: too many calls from this user (rate_limit %g a second); try again later", perSecond))
}

// tooManyConnections answers a client over max_clients_per_user or
// max_clients before its connection is closed.
func tooManyConnections(perUser int) *frame.ErrorBody {
	return libvirtError(errBusy, fromRPC, fmt.Sprintf(
		"resource busy: virt-acl-helper guard: too many connections from this user (max_clients_per_user %d) or in all (max_clients)", perUser))
}

// tooManyCallbacks answers an event registration past
// guard_max_event_callbacks.
func tooManyCallbacks(max int) *frame.ErrorBody {
	return libvirtError(errBusy, fromRPC, fmt.Sprintf(
		"resource busy: virt-acl-helper guard: too many event callbacks on this connection (guard_max_event_callbacks %d); deregister one first", max))
}

// denied is the access-denied error, as libvirtd reports it.
func denied(detail string) *frame.ErrorBody {
	return frame.AccessDenied(detail)
}
