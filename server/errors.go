// SPDX-License-Identifier: Apache-2.0

package server

import (
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// InvalidRequest is the error for a request that cannot be decided; the
// varlink server also sends it for messages that are not valid calls.
func InvalidRequest(reason string) *varlink.Error {
	return &varlink.Error{Name: accessapi.ErrInvalidRequest, Parameters: map[string]string{"reason": reason}}
}

func unknownPermission(perm string, valid []string) *varlink.Error {
	return &varlink.Error{Name: accessapi.ErrUnknownPermission, Parameters: map[string]any{"permission": perm, "valid": valid}}
}

func noSuchProcess(pid int64) *varlink.Error {
	return &varlink.Error{Name: accessapi.ErrNoSuchProcess, Parameters: map[string]int64{"pid": pid}}
}

func unavailable(driver string) *varlink.Error {
	return &varlink.Error{Name: accessapi.ErrAuthorizationUnavailable, Parameters: map[string]string{"driver": driver}}
}

func auditFailed() *varlink.Error { return &varlink.Error{Name: accessapi.ErrAuditFailed} }

func rateLimited(perSecond float64) *varlink.Error {
	return &varlink.Error{Name: accessapi.ErrRateLimited, Parameters: map[string]int64{"perSecond": int64(perSecond)}}
}

// TooManyConnections is the error a connection over a limit is closed with.
func TooManyConnections(perUser int) *varlink.Error {
	return &varlink.Error{Name: accessapi.ErrTooManyConnections, Parameters: map[string]int{"perUser": perUser}}
}

func notPrivileged(action string) *varlink.Error {
	return &varlink.Error{Name: accessapi.ErrNotPrivileged, Parameters: map[string]string{"action": action}}
}
