// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// CheckMany decides whether subject may use perm on each of objects, for
// filtering a list; origin goes into each decision's audit record.
// Decisions come back in the objects' order, each audited as Check's are,
// except that a cached decision on a list (Origin.Listing) is not audited
// again.
//
// The cache is looked up for every object first, in the calling
// goroutine; only the objects it does not hold are decided by the
// drivers, up to Options.Parallel at a time. The cached decisions are
// then served, their records handed to the auditor together (see
// BatchAuditor): a list of cached objects costs lookups and records, not
// a goroutine each. Should the cache be flushed meanwhile (polkit's
// rules changed, a reload retired the engine), they are decided again
// like the others, never served from what the flush meant to drop.
func (e *Engine) CheckMany(ctx context.Context, subject proc.Process, perm acl.Permission, objects []acl.Object, origin Origin) ([]Decision, error) {
	l := &list{subject: subject, perm: perm, objects: objects, origin: origin}
	for i := range objects {
		if err := l.request(i).Validate(); err != nil {
			e.stats.invalid.Add(1)
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
	}
	out := make([]Decision, len(objects))
	start, epoch := time.Now(), e.epoch.Load()
	hits, misses := e.lookupAll(l, out)
	took := time.Since(start)
	if err := e.decideAll(ctx, l, misses, out); err != nil {
		return nil, err
	}
	switch {
	case len(hits) == 0:
		return out, nil
	case e.epoch.Load() != epoch:
		if err := e.decideAll(ctx, l, hits, out); err != nil {
			return nil, err
		}
		return out, nil
	case ctx.Err() != nil: // the client hung up: no answer, no record
		return nil, ctx.Err()
	}
	start = time.Now()
	if !origin.Listing {
		e.auditServed(ctx, l, hits, out)
	}
	e.stats.recordCached(out, hits, took+time.Since(start))
	return out, nil
}

// list is the requests of a CheckMany: one subject, permission and
// origin, and an object each. A request is built when it is needed
// rather than held: a list of 10,000 would hold megabytes.
type list struct {
	subject proc.Process
	perm    acl.Permission
	objects []acl.Object
	origin  Origin
}

func (l *list) request(i int) Request {
	return Request{Subject: l.subject, Object: l.objects[i], Permission: l.perm, Origin: l.origin}
}

// lookupAll puts the cached decisions on l into out, unaudited, and
// returns the indexes of those (hits) and of the others (misses). A
// retired engine has no hits.
func (e *Engine) lookupAll(l *list, out []Decision) (hits, misses []int) {
	if e.retired.Load() {
		misses = make([]int, len(out))
		for i := range misses {
			misses[i] = i
		}
		return nil, misses
	}
	hits = make([]int, 0, len(out)) // most lists are mostly cached
	for i := range out {
		cd, ok := e.cache.Lookup(keyOf(l.request(i)))
		if !ok {
			misses = append(misses, i)
			continue
		}
		out[i] = answer(cd, true)
		hits = append(hits, i)
	}
	return hits, misses
}

// auditServed has the cached decisions in out at the indexes hits
// audited, in one call if the auditor takes batches. A decision whose
// record was refused becomes a deny.
func (e *Engine) auditServed(ctx context.Context, l *list, hits []int, out []Decision) {
	if e.auditor == nil {
		return
	}
	batch, ok := e.auditor.(BatchAuditor)
	if !ok {
		for _, i := range hits {
			out[i] = e.audit(ctx, l.request(i), out[i])
		}
		return
	}
	errs := batch.AuditMany(ctx, func(yield func(Request, Decision) bool) {
		for _, i := range hits {
			if !yield(l.request(i), out[i]) {
				return
			}
		}
	})
	if errs == nil {
		return
	}
	for n, i := range hits {
		// An auditor that answers for fewer records than it was given
		// has not said the others were accepted.
		err := errMissingOutcome
		if n < len(errs) {
			err = errs[n]
		}
		if err != nil {
			out[i] = e.auditFailed(out[i], err)
		}
	}
}

var errMissingOutcome = errors.New("the auditor gave no outcome for the record")

// decideAll decides the requests of l at the indexes todo, up to
// Options.Parallel at a time, into out. It returns the first error; when
// ctx ends, it starts nothing more.
func (e *Engine) decideAll(ctx context.Context, l *list, todo []int, out []Decision) error {
	if len(todo) == 0 {
		return nil
	}
	sem := make(chan struct{}, e.par)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for _, i := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		// Checked after the slot too: a slot freed by a call that saw ctx
		// end must not start another.
		if err := ctx.Err(); err != nil { // the client hung up: ask nothing more
			wg.Wait()
			return err
		}
		wg.Go(func() {
			defer func() { <-sem }()
			d, err := e.check(ctx, l.request(i))
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
			}
			out[i] = d
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return *p
	}
	return nil
}
