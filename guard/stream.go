// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// clientStream forwards a stream packet of a stream whose opening the
// guard allowed; others are dropped.
func (s *session) clientStream(m *frame.Message) error {
	h := m.Header
	k := streamKey{h.Prog, h.Proc, h.Serial}
	s.mu.Lock()
	sparse, ok := s.streams[k]
	if ok && h.Status != frame.Continue {
		delete(s.streams, k) // the client finished or aborted it
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.warn("stream packet dropped", fmt.Errorf("no allowed stream has procedure %d serial %d", h.Proc, h.Serial))
		return nil
	case h.Type == frame.StreamHole && !sparse:
		s.warn("stream packet dropped", fmt.Errorf("STREAM_HOLE on a stream not opened sparse (procedure %d)", h.Proc))
		return nil
	}
	return s.up.write(m, nil)
}
