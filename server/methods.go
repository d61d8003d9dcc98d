// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"math"
	"strconv"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

func (s *Server) check(ctx context.Context, in *accessapi.CheckParams) (any, error) {
	self, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	obj, err := parseObject(in.Object)
	if err != nil {
		return nil, err
	}
	perm, err := parsePermission(obj.Type(), in.Permission)
	if err != nil {
		return nil, err
	}
	g := s.rt.Current()
	if err := s.admit(ctx, g, self, 1); err != nil {
		return nil, err
	}
	subj, origin, err := s.subject(ctx, g, self, in.Subject)
	if err != nil {
		return nil, err
	}
	objs := []acl.Object{obj}
	s.objects(ctx, g, self, origin, objs)
	d, err := g.Engine.Check(ctx, access.Request{Subject: subj, Object: objs[0], Permission: perm, Origin: origin})
	if err != nil {
		return nil, requestError(err)
	}
	return result(d)
}

func (s *Server) checkMany(ctx context.Context, in *manyParams) (any, error) {
	self, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	g := s.rt.Current()
	n := in.count()
	if limit := maxObjects(g); n > limit {
		return nil, InvalidRequest("too many objects: the limit is " + strconv.Itoa(limit))
	}
	if n == 0 {
		return accessapi.CheckManyReply{Results: []accessapi.Result{}}, nil
	}
	if err := s.admit(ctx, g, self, n); err != nil {
		return nil, err
	}
	objs, err := in.objects()
	if err != nil {
		return nil, err
	}
	perm, err := parsePermission(objs[0].Type(), in.Permission)
	if err != nil {
		return nil, err
	}
	subj, origin, err := s.subject(ctx, g, self, in.Subject)
	if err != nil {
		return nil, err
	}
	s.objects(ctx, g, self, origin, objs)
	ds, err := g.Engine.CheckMany(ctx, subj, perm, objs, origin)
	if err != nil {
		return nil, requestError(err)
	}
	out := accessapi.CheckManyReply{Results: make([]accessapi.Result, len(ds))}
	for i, d := range ds {
		if out.Results[i], err = result(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Server) flush(ctx context.Context, c *varlink.Call) (any, error) {
	var in accessapi.FlushParams
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	self, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	g := s.rt.Current()
	if err := s.privileged(ctx, g, self, policy.ActionFlush); err != nil {
		return nil, err
	}
	e := g.Engine
	var removed int
	switch {
	case in.UID == nil && in.Object == nil:
		removed = e.Stats().Cache.Entries
		e.Flush()
	case in.UID != nil && (*in.UID < 0 || *in.UID > math.MaxUint32):
		return nil, InvalidRequest("uid out of range")
	case in.UID != nil:
		removed = e.FlushUID(uint32(*in.UID))
	}
	if in.Object != nil {
		obj, err := parseObject(*in.Object)
		if err != nil {
			return nil, err
		}
		removed += e.FlushObject(obj)
	}
	s.log.Info("decision cache flushed on request", "pid", self.proc.PID, "uid", self.proc.UID, "removed", removed)
	return accessapi.FlushReply{Removed: removed}, nil
}

func (s *Server) stats(ctx context.Context, c *varlink.Call) (any, error) {
	if err := c.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	self, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	g := s.rt.Current()
	if err := s.privileged(ctx, g, self, policy.ActionStats); err != nil {
		return nil, err
	}
	e := g.Engine
	return statsOf(e.Stack(), e.Stats(), s.conns()), nil
}

// maxObjects is the most objects one CheckMany may name under g.
func maxObjects(g *engine.Generation) int {
	if g.Config.MaxObjects <= 0 {
		return defaultMaxObjects
	}
	return g.Config.MaxObjects
}

// result turns a decision into a reply: a policy deny is an answer, a
// decision that could not be made is an error.
func result(d access.Decision) (accessapi.Result, error) {
	switch d.Reason {
	case access.Unavailable:
		return accessapi.Result{}, unavailable(d.Driver)
	case access.AuditFailed:
		return accessapi.Result{}, auditFailed()
	}
	return accessapi.Result{Allowed: d.Allowed, Cached: d.Cached, Driver: d.Driver}, nil
}

// requestError maps the engine's errors: an invalid request names its
// problem; anything else (the call's context ending) is no decision.
func requestError(err error) error {
	if errors.Is(err, access.ErrInvalid) {
		return InvalidRequest(err.Error())
	}
	return unavailable("engine")
}

func reasonOf(err error) string {
	if e, ok := varlink.AsError(err); ok {
		if m, ok := e.Parameters.(map[string]string); ok && m["reason"] != "" {
			return m["reason"]
		}
	}
	return err.Error()
}
