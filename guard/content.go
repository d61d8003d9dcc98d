// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"sync/atomic"

	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// ContentPolicy holds the XML content policy in force for callers who
// are not admins, and whether they may make the calls that name host
// paths. Run replaces it when the configuration reloads; every call is
// decided on the policy current when it is decided. It is safe for
// concurrent use.
type ContentPolicy struct {
	cur atomic.Pointer[contentState]
}

type contentState struct {
	policy         *xmlpolicy.Policy
	allowHostPaths bool
}

// NewContentPolicy returns a holder of p; a nil p applies no policy
// until Set puts one in force.
func NewContentPolicy(p *xmlpolicy.Policy, allowHostPaths bool) *ContentPolicy {
	c := &ContentPolicy{}
	c.Set(p, allowHostPaths)
	return c
}

// Set puts p in force from the next call on; nil turns the policy off.
func (c *ContentPolicy) Set(p *xmlpolicy.Policy, allowHostPaths bool) {
	c.cur.Store(&contentState{policy: p, allowHostPaths: allowHostPaths})
}

func (c *ContentPolicy) load() *contentState {
	if c == nil {
		return nil
	}
	return c.cur.Load()
}

// contentGate returns the gate for one call, on the policy current now;
// nil when no policy is in force.
func (s *Server) contentGate() *contentGate {
	st := s.opts.Content.load()
	if st == nil || st.policy == nil {
		return nil
	}
	return &contentGate{policy: st.policy, allowHostPaths: st.allowHostPaths, calls: s.xmlCalls, perms: s.contentPerms,
		rootIsAdmin: s.opts.rootIsAdmin, owners: s.opts.Owners}
}
