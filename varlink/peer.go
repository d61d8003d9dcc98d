package varlink

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Peer is the process at the other end of a connection, as the kernel
// reported it when the connection was made (SO_PEERCRED): never what the
// client claims.
type Peer struct {
	PID int32 // 0 when the peer is in another pid namespace
	UID uint32
	GID uint32
}

type peerKey struct{}

// PeerFrom returns the peer of the connection a handler's call came on.
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// withPeer returns ctx carrying p; for handlers' tests too.
func withPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// WithPeer returns ctx carrying p, as the server passes it to handlers. It
// exists for tests of handlers.
func WithPeer(ctx context.Context, p Peer) context.Context { return withPeer(ctx, p) }

// peerCred reads the peer credentials of a UNIX socket connection.
func peerCred(nc net.Conn) (Peer, error) {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("connection from %s is not a UNIX socket: peer credentials unknown", nc.RemoteAddr())
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("peer credentials (SO_PEERCRED): %w", credErr)
	}
	return Peer{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}, nil
}
