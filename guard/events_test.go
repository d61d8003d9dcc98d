// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// eventSession is a session, of ctx, that only decides events.
func eventSession(t *testing.T, ctx context.Context) *session {
	t.Helper()
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	return &session{srv: &Server{table: table, log: log, limit: ratelimit.New(ratelimit.WarnEvery, nil)}, log: log, ctx: ctx}
}

// eventRecords are the event records (lists of one) of log.
func eventRecords(log *auditLog) []string {
	return slices.DeleteFunc(log.records(), func(r string) bool { return !strings.Contains(r, "{listed 1}") })
}

// cancelling is a lookup that the session's end cuts short: it ends the
// session (cancel) and fails as a lookup does then.
func cancelling(cancel context.CancelFunc) lookupFunc {
	return func(proto.RemoteProcedure, proto.Message, proto.Message) error {
		cancel()
		return context.Canceled
	}
}

// sessionChecker returns a session's context, ended already if gone,
// and a checker allowing allow and auditing to log, whose lookups, if
// lookup is not nil, are lookup(the session's cancel).
func sessionChecker(t *testing.T, gone bool, lookup func(context.CancelFunc) lookupFunc, allow map[string]bool) (context.Context, *checker, *auditLog) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if gone {
		cancel()
	}
	log := &auditLog{}
	c := listCheckerAudited(t, nil, allow, log)
	if lookup != nil {
		c.objects = newObjects(lookup(cancel), "QEMU")
	}
	return ctx, c, log
}

// TestEventWithheldRecorded: an event the guard fails to identify or the
// engine does not decide is dropped, and recorded with a reason naming
// why (the engine refusing an invalid request; the object unidentified,
// gone since, a volume named with its pool; the guard's lookup failed),
// unless the failure is the session's end (before the decision or
// during the lookup): then nothing is withheld from anyone, and no
// record gives a cause that was not. A failure of its own is recorded
// though the session ended meanwhile.
func TestEventWithheldRecorded(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcStoragePoolEventLifecycle))
	dom, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcDomainEventLifecycle))
	// No event of libvirt 9.0.0 names a volume (the only object the
	// guard looks up to build): a pool event stands in, with the filter
	// permission of a volume list.
	vols, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcStoragePoolListAllVolumes))
	volPerm := vols.Filters()[0]
	perms, err := eventPerms(table)
	if err != nil {
		t.Fatal(err)
	}
	domPerm := perms[acl.Domain]
	valid := proc.Process{PID: 1, UID: 1000, StartTime: 1}
	for _, tt := range []struct {
		name    string
		p       *proto.Procedure
		perm    acl.Permission
		v       any
		subject proc.Process
		lookup  func(context.CancelFunc) lookupFunc
		gone    bool // the session ended before the event
		want    []string
	}{
		{"decided", dom, domPerm, runA, valid, nil, false,
			[]string{"guard REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE getattr true  [{listed 1} {shown 1} {hidden 0}]"}},
		{"invalid request", dom, domPerm, runA, proc.Process{PID: 1, UID: 1000}, nil, false,
			[]string{"guard REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE getattr false invalid-request [{listed 1} {shown 0} {hidden 1} {undecided 1} {domain_name vmA}]"}},
		{"client gone before the decision", dom, domPerm, runA, valid, nil, true, nil},
		{"pool gone: unidentified", pool, volPerm, vol1, valid, func(context.CancelFunc) lookupFunc {
			return poolLookupBy(&RemoteError{Proc: "STORAGE_POOL_LOOKUP_BY_NAME", Body: &frame.ErrorBody{Code: errNoStoragePool}}, new(int))
		}, false, []string{"guard REMOTE_PROC_STORAGE_POOL_EVENT_LIFECYCLE getattr false unidentified [{listed 1} {shown 0} {hidden 1} {undecided 1} {pool_name poolA} {vol_name v1}]"}},
		{"lookup failed", pool, volPerm, vol1, valid, func(context.CancelFunc) lookupFunc {
			return poolLookupBy(errors.New("lookup connection: EOF"), new(int))
		}, false, []string{"guard REMOTE_PROC_STORAGE_POOL_EVENT_LIFECYCLE getattr false lookup-failed [{listed 1} {shown 0} {hidden 1} {undecided 1} {pool_name poolA} {vol_name v1}]"}},
		{"client gone during the lookup", pool, volPerm, vol1, valid, cancelling, false, nil},
		{"lookup failed, the session ended meanwhile", pool, volPerm, vol1, valid, func(cancel context.CancelFunc) lookupFunc {
			return func(proto.RemoteProcedure, proto.Message, proto.Message) error {
				cancel()
				return errors.New("lookup connection: EOF")
			}
		}, false, []string{"guard REMOTE_PROC_STORAGE_POOL_EVENT_LIFECYCLE getattr false lookup-failed [{listed 1} {shown 0} {hidden 1} {undecided 1} {pool_name poolA} {vol_name v1}]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, c, log := sessionChecker(t, tt.gone, tt.lookup, map[string]bool{"domain:getattr " + uuidString(uuidA): true})
			c.subject = tt.subject
			s := eventSession(t, ctx)
			h := frame.Header{Prog: uint32(proto.Remote), Proc: tt.p.Number(), Type: frame.Event}
			shown := s.decideEvent(ctx, c, h, tt.p, tt.perm, tt.v)
			if want := len(tt.want) == 1 && strings.Contains(tt.want[0], " true "); shown != want {
				t.Errorf("shown %v, want %v", shown, want)
			}
			if got := eventRecords(log); !slices.Equal(got, tt.want) {
				t.Errorf("event records %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEventUnfilteredRecorded: when the guard does not know what events
// are filtered with (eventPerms failed), each event is dropped and
// recorded, reason=no-filter, naming its procedure, or its program and
// number if the guard does not know it.
func TestEventUnfilteredRecorded(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    frame.Header
		want string
	}{
		{"known event", frame.Header{Prog: uint32(proto.Remote), Proc: int32(proto.RemoteProcDomainEventLifecycle)},
			"guard REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE  false no-filter [{listed 1} {shown 0} {hidden 1} {undecided 1}]"},
		{"unknown event", frame.Header{Prog: uint32(proto.Remote), Proc: 9999},
			"guard program-0x20008086-procedure-9999  false no-filter [{listed 1} {shown 0} {hidden 1} {undecided 1}]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := &auditLog{}
			c := listCheckerAudited(t, nil, map[string]bool{}, log)
			eventSession(t, context.Background()).dropUnfiltered(context.Background(), c, tt.h, errors.New("no register procedure"))
			if got := eventRecords(log); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("event records %q, want [%q]", got, tt.want)
			}
		})
	}
}

// TestUndecidedReason: an event the engine did not decide is recorded
// invalid-request when the engine refused the request as invalid, and
// unavailable for any other failure of the engine.
func TestUndecidedReason(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"invalid request", fmt.Errorf("%w: subject: process 1 has no start time", access.ErrInvalid), "invalid-request"},
		{"another failure", errors.New("engine closed"), "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := undecidedReason(tt.err); got != tt.want {
				t.Errorf("undecidedReason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
