// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"errors"
	"fmt"
	"iter"
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
// The decisions the cache holds are served in the calling goroutine and
// their records handed to the auditor together (see BatchAuditor): a list
// of cached objects costs lookups and records, not a goroutine each. The
// others are made up to Options.Parallel at a time.
func (e *Engine) CheckMany(ctx context.Context, subject proc.Process, perm acl.Permission, objects []acl.Object, origin Origin) ([]Decision, error) {
	l := &list{subject: subject, perm: perm, objects: objects, origin: origin}
	for i := range objects {
		if err := l.request(i).Validate(); err != nil {
			e.stats.invalid.Add(1)
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
	}
	out := make([]Decision, len(objects))
	misses, err := e.serveCached(ctx, l, out)
	if err != nil {
		return nil, err
	}
	if err := e.decideAll(ctx, l, misses, out); err != nil {
		return nil, err
	}
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

// serveCached puts the cached decisions on l into out and has them
// audited. It returns the indexes of the requests it left undecided: those
// the cache does not hold, and all of them on a retired engine.
func (e *Engine) serveCached(ctx context.Context, l *list, out []Decision) ([]int, error) {
	var misses []int
	if e.retired.Load() {
		for i := range out {
			misses = append(misses, i)
		}
		return misses, nil
	}
	start := time.Now()
	hits := 0
	for i := range out {
		cd, ok := e.cache.Lookup(keyOf(l.request(i)))
		if !ok {
			misses = append(misses, i)
			continue
		}
		out[i] = answer(cd, true)
		hits++
	}
	if hits == 0 {
		return misses, nil
	}
	if err := ctx.Err(); err != nil { // the client hung up: no answer, no record
		return nil, err
	}
	if !l.origin.Listing {
		e.auditCached(ctx, l, out)
	}
	e.stats.recordCached(out, hits, time.Since(start))
	return misses, nil
}

// auditCached has the cached decisions in out (those marked Cached: the
// others are not made yet) audited, in one call if the auditor takes
// batches. A decision whose record was refused becomes a deny.
func (e *Engine) auditCached(ctx context.Context, l *list, out []Decision) {
	if e.auditor == nil {
		return
	}
	batch, ok := e.auditor.(BatchAuditor)
	if !ok {
		for i := range out {
			if out[i].Cached {
				out[i] = e.audit(ctx, l.request(i), out[i])
			}
		}
		return
	}
	errs := batch.AuditMany(ctx, cached(l, out))
	if errs == nil {
		return
	}
	n := 0
	for i := range out {
		if !out[i].Cached {
			continue
		}
		// An auditor that answers for fewer records than it was given
		// has not said the others were accepted.
		err := errMissingOutcome
		if n < len(errs) {
			err = errs[n]
		}
		if err != nil {
			out[i] = e.auditFailed(out[i], err)
		}
		n++
	}
}

var errMissingOutcome = errors.New("the auditor gave no outcome for the record")

// cached yields the cached decisions in out with their requests, in order.
func cached(l *list, out []Decision) iter.Seq2[Request, Decision] {
	return func(yield func(Request, Decision) bool) {
		for i := range out {
			if out[i].Cached && !yield(l.request(i), out[i]) {
				return
			}
		}
	}
}

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
