// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"

	"github.com/virt-acl-helper/virt-acl-helper/identity"
)

type peerKey struct{}

// PeerFrom returns the credentials of the peer of the connection a
// handler's call came on, as the kernel reported them when the connection
// was made: never what the client claims.
func PeerFrom(ctx context.Context) (identity.Cred, bool) {
	p, ok := ctx.Value(peerKey{}).(identity.Cred)
	return p, ok
}

func withPeer(ctx context.Context, p identity.Cred) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}
