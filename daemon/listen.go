// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"net"

	"github.com/virt-acl-helper/virt-acl-helper/listener"
)

// FDName is the FileDescriptorName= of the socket unit's varlink socket.
const FDName = "varlink"

// activated returns the listening sockets systemd passed (sd_listen_fds(3)),
// by the name of the front end serving them. As systemd's convention has
// it, a single descriptor without a name of its own is the varlink socket,
// and names tell several apart; a descriptor the daemon does not serve
// stops it (package listener).
func activated() (map[string][]net.Listener, error) {
	return listener.Activated(listener.Names{Served: []string{FDName}, Lone: FDName})
}

// listenPath listens on a UNIX socket at path (mode 0666: every local user
// may ask about themselves).
func listenPath(path string) (net.Listener, error) { return listener.Listen(path) }

func closeAll(ls []net.Listener) { listener.CloseAll(ls) }
