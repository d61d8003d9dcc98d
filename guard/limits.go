// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"io"
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
// that sends nothing small in time, or that comes while
// maxTurningAway others are being turned away, is just closed: the
// clients refused must cost little.
func (s *Server) turnAway(c *net.UnixConn) {
	defer c.Close()
	select {
	case s.turningAway <- struct{}{}:
		defer func() { <-s.turningAway }()
	default:
		return
	}
	c.SetDeadline(time.Now().Add(turnAwayTimeout))
	m, err := frame.Read(io.LimitReader(c, turnAwayMaxFrame))
	if err != nil || (m.Header.Type != frame.Call && m.Header.Type != frame.CallWithFDs) {
		return
	}
	r, err := frame.ErrorReply(m.Header, tooManyConnections(s.opts.Slots.PerUser()))
	if err == nil {
		frame.Write(c, r)
	}
}

const (
	turnAwayTimeout  = time.Second // how long a client over the limits is kept at most
	turnAwayMaxFrame = 4096        // the largest first call answered (AUTH_LIST is 28 bytes)
	maxTurningAway   = 64          // clients being turned away at once
)
