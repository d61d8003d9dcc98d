// SPDX-License-Identifier: Apache-2.0

package guard

import (
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

// denied is the access-denied error, as libvirtd reports it.
func denied(detail string) *frame.ErrorBody {
	return frame.AccessDenied(detail)
}
