// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"errors"
	"net"

	"github.com/virt-acl-helper/virt-acl-helper/listener"
)

// The FileDescriptorName= of the guard's sockets under socket activation
// (units/virt-acl-helper-guard.socket). A single descriptor passed without
// a name is the read-write socket.
const (
	FDName         = "libvirt"
	FDNameReadOnly = "libvirt-ro"
)

// socket is one listening socket and whether its connections are read-only.
type socket struct {
	l  net.Listener
	ro bool
}

// sockets returns the sockets systemd passed (activated) or, without
// socket activation, the ones at the paths in opts. Both at once is an
// error: the guard would otherwise serve sockets nobody meant it to.
func sockets(opts RunOptions) (socks []socket, activated bool, err error) {
	ls, err := listener.Activated(listener.Names{Served: []string{FDName, FDNameReadOnly}, Lone: FDName})
	if err != nil {
		return nil, false, err
	}
	if len(ls) > 0 {
		if opts.Listen != "" || opts.ReadOnlyListen != "" {
			for _, group := range ls {
				listener.CloseAll(group)
			}
			return nil, false, errors.New("systemd passed sockets (LISTEN_FDS) and --listen or --readonly-listen named more: use one or the other")
		}
		for _, l := range ls[FDName] {
			socks = append(socks, socket{l, false})
		}
		for _, l := range ls[FDNameReadOnly] {
			socks = append(socks, socket{l, true})
		}
		return socks, true, nil
	}
	socks, err = listenPaths(opts)
	return socks, false, err
}

// listenPaths listens on the paths in opts.
func listenPaths(opts RunOptions) ([]socket, error) {
	var socks []socket
	for _, p := range []struct {
		path string
		ro   bool
	}{{opts.Listen, false}, {opts.ReadOnlyListen, true}} {
		if p.path == "" {
			continue
		}
		l, err := listener.Listen(p.path)
		if err != nil {
			closeSockets(socks)
			return nil, err
		}
		socks = append(socks, socket{l, p.ro})
	}
	if len(socks) == 0 {
		return nil, errors.New("no socket to listen on: give --listen or --readonly-listen, or start the guard from its socket unit")
	}
	return socks, nil
}

func closeSockets(socks []socket) {
	for _, s := range socks {
		s.l.Close()
	}
}
