package server

import (
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// Interface is the name of the helper's varlink interface.
const Interface = "io.github.virt-acl-helper.access"

// DefaultSocket is the socket the socket unit creates (mode 0666, so every
// local user can ask about themselves) and clients connect to by default.
const DefaultSocket = "/run/virt-acl-helper/virt-acl-helper.sock"

// The interface's error names.
const (
	ErrInvalidRequest           = Interface + ".InvalidRequest"
	ErrUnknownPermission        = Interface + ".UnknownPermission"
	ErrNoSuchProcess            = Interface + ".NoSuchProcess"
	ErrAuthorizationUnavailable = Interface + ".AuthorizationUnavailable"
	ErrAuditFailed              = Interface + ".AuditFailed"
	ErrNotPrivileged            = Interface + ".NotPrivileged"
)

// InvalidRequest is the error for a request that cannot be decided; the
// varlink server also sends it for messages that are not valid calls.
func InvalidRequest(reason string) *varlink.Error {
	return &varlink.Error{Name: ErrInvalidRequest, Parameters: map[string]string{"reason": reason}}
}

func unknownPermission(perm string, valid []string) *varlink.Error {
	return &varlink.Error{Name: ErrUnknownPermission, Parameters: map[string]any{"permission": perm, "valid": valid}}
}

func noSuchProcess(pid int64) *varlink.Error {
	return &varlink.Error{Name: ErrNoSuchProcess, Parameters: map[string]int64{"pid": pid}}
}

func unavailable(driver string) *varlink.Error {
	return &varlink.Error{Name: ErrAuthorizationUnavailable, Parameters: map[string]string{"driver": driver}}
}

func auditFailed() *varlink.Error { return &varlink.Error{Name: ErrAuditFailed} }

func notPrivileged(action string) *varlink.Error {
	return &varlink.Error{Name: ErrNotPrivileged, Parameters: map[string]string{"action": action}}
}
