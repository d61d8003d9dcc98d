// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"net"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// The limits of the Security section (rate_limit, max_clients_per_user,
// max_clients) as the guard applies them; Server.serveConn takes the
// connection slots.

// admit applies rate_limit to one call of the client's: root is not
// limited, and the guard serves no proxies (no one else is exempt).
func (s *session) admit() *frame.ErrorBody {
	g := s.srv.opts.Runtime.Current()
	if s.unlimited || g.Admit(s.subject, 1, func() bool { return false }) {
		return nil
	}
	return rateLimited(g.Rate.PerSecond())
}

// turnAway answers the first call of a client over the connection
// limits with an error saying so, and closes its connection. A client
// that sends nothing in time is just closed.
func (s *Server) turnAway(c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(turnAwayTimeout))
	m, err := frame.Read(c)
	if err != nil || (m.Header.Type != frame.Call && m.Header.Type != frame.CallWithFDs) {
		return
	}
	r, err := frame.ErrorReply(m.Header, tooManyConnections(s.opts.Slots.PerUser()))
	if err == nil {
		frame.Write(c, r)
	}
}

// turnAwayTimeout bounds how long a client over the limits is kept.
const turnAwayTimeout = 2 * time.Second
