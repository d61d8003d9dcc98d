// SPDX-License-Identifier: Apache-2.0

package identity

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Cred is the process at the other end of a connection, as the kernel
// reported it when the connection was made (SO_PEERCRED).
type Cred struct {
	PID int32 // 0 when the peer is in another pid namespace
	UID uint32
	GID uint32
}

// PeerCred reads the credentials of the peer of a UNIX socket connection.
func PeerCred(nc net.Conn) (Cred, error) {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return Cred{}, fmt.Errorf("connection from %s is not a UNIX socket: peer credentials unknown", nc.RemoteAddr())
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return Cred{}, fmt.Errorf("peer credentials (SO_PEERCRED): %w", credErr)
	}
	return Cred{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}, nil
}
