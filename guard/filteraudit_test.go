// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// TestListAudited: a filtered list writes one record of its own, a
// denial with reason=filtered when it hid something, with its counts;
// a list that hid nothing, a grant.
func TestListAudited(t *testing.T) {
	for _, tt := range []struct {
		name  string
		allow []string
		want  string
	}{
		{"hid two", listed, "guard REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS getattr false filtered [{listed 4} {shown 2} {hidden 2}]"},
		{"hid none", allDomains(), "guard REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS getattr true  [{listed 4} {shown 4} {hidden 0}]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, c := openWorld(t, tt.allow)
			if code := errCode(t, c.reply(c.sendArgs(proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsArgs{NeedResults: 1}))); code != 0 {
				t.Fatalf("error %d", code)
			}
			recs := w.audit.records()
			lists := slices.DeleteFunc(slices.Clone(recs), func(r string) bool { return !strings.Contains(r, "{listed") })
			if len(lists) != 1 || lists[0] != tt.want {
				t.Errorf("list records %q, want [%q]; all: %q", lists, tt.want, recs)
			}
		})
	}
}

// allDomains allows getattr on every domain of the fake libvirtd.
func allDomains() []string {
	var allow []string
	for _, d := range []proto.RemoteNonnullDomain{runA, runB, defC, defD} {
		allow = append(allow, "domain:getattr "+uuidString(d.UUID))
	}
	return allow
}

// TestEventAudited: every event the guard filters writes a record of its
// own, a list of one: a denial with reason=filtered for an event about
// an object the client may not see, a grant for one it may, each time.
func TestEventAudited(t *testing.T) {
	w, c := openWorld(t, listed)
	// The fake sends vmB's event on the old registration, and vmA's on
	// each callback registration.
	c.reply(c.sendArgs(proto.RemoteProcConnectDomainEventRegisterAny, &proto.RemoteConnectDomainEventRegisterAnyArgs{}))
	for range 2 {
		c.sendArgs(proto.RemoteProcConnectDomainEventCallbackRegisterAny, &proto.RemoteConnectDomainEventCallbackRegisterAnyArgs{})
	}
	for events := 0; events < 2; {
		if c.recv().Header.Type == frame.Event {
			events++
		}
	}
	// Decided in order, and audited before the client hears: vmB's
	// record and vmA's are written by now.
	recs := w.audit.records()
	events := slices.DeleteFunc(slices.Clone(recs), func(r string) bool { return !strings.Contains(r, "{listed 1}") })
	want := []string{
		"guard REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE getattr false filtered [{listed 1} {shown 0} {hidden 1}]",
		"guard REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE getattr true  [{listed 1} {shown 1} {hidden 0}]",
		"guard REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE getattr true  [{listed 1} {shown 1} {hidden 0}]",
	}
	if !slices.Equal(events, want) {
		t.Errorf("event records %q, want %q; all: %q", events, want, recs)
	}
}

// TestHiddenReason: a list's or event's record names a failed decision's
// reason, the more serious first, then entries left out undecided, and
// filtered only for the policy's.
func TestHiddenReason(t *testing.T) {
	policy := access.Decision{Reason: access.Policy}
	for _, tt := range []struct {
		name         string
		ds           []access.Decision
		unidentified int
		want         string
	}{
		{"policy", []access.Decision{policy}, 0, "filtered"},
		{"nothing decided", nil, 0, "filtered"},
		{"audit failed", []access.Decision{{Reason: access.AuditFailed}}, 0, "audit-failed"},
		{"unavailable among denials", []access.Decision{policy, {Reason: access.Unavailable}, policy}, 0, "unavailable"},
		{"audit failed before unavailable", []access.Decision{{Reason: access.Unavailable}, {Reason: access.AuditFailed}}, 0, "audit-failed"},
		{"granted and policy", []access.Decision{{Allowed: true}, policy}, 0, "filtered"},
		{"left out, the rest granted", []access.Decision{{Allowed: true}}, 1, "unidentified"},
		{"left out beside a denial", []access.Decision{policy}, 2, "unidentified"},
		{"left out, unavailable first", []access.Decision{{Reason: access.Unavailable}}, 1, "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hiddenReason(tt.ds, tt.unidentified); got != tt.want {
				t.Errorf("hiddenReason = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestListUndecidedCounted: a list's record says how many of the entries
// it hid were left out undecided (undecided=), whenever any were, so
// that hidden minus undecided is what decisions hid, though its reason
// is unidentified for both.
func TestListUndecidedCounted(t *testing.T) {
	p := remoteProcs(t, proto.RemoteProcConnectListAllSecrets)[0]
	perm := p.Filters()[0]
	unknown := unknownSecret
	allow := map[string]bool{perm.String() + " " + uuidString(sec2.UUID): true}
	for _, tt := range []struct {
		name string
		vals []any
		want string
	}{
		{"left out beside a denial", []any{unknown, sec1, sec2},
			"guard REMOTE_PROC_CONNECT_LIST_ALL_SECRETS getattr false unidentified [{listed 3} {shown 1} {hidden 2} {undecided 1}]"},
		{"only left out", []any{unknown, sec2},
			"guard REMOTE_PROC_CONNECT_LIST_ALL_SECRETS getattr false unidentified [{listed 2} {shown 1} {hidden 1} {undecided 1}]"},
		{"only denied", []any{sec1, sec2},
			"guard REMOTE_PROC_CONNECT_LIST_ALL_SECRETS getattr false filtered [{listed 2} {shown 1} {hidden 1}]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := &auditLog{}
			if _, err := listCheckerAudited(t, nil, allow, log).allowed(context.Background(), p, perm, tt.vals); err != nil {
				t.Fatal(err)
			}
			lists := slices.DeleteFunc(log.records(), func(r string) bool { return !strings.Contains(r, "{listed") })
			if !slices.Equal(lists, []string{tt.want}) {
				t.Errorf("list records %q, want [%q]", lists, tt.want)
			}
		})
	}
}

// remoteProcs looks up the remote procedures nums.
func remoteProcs(t *testing.T, nums ...proto.RemoteProcedure) []*proto.Procedure {
	t.Helper()
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	procs := make([]*proto.Procedure, len(nums))
	for i, num := range nums {
		p, ok := table.Lookup(proto.Remote, int32(num))
		if !ok {
			t.Fatalf("no remote procedure %d", num)
		}
		procs[i] = p
	}
	return procs
}

// listSession returns a session ending with ctx whose client is one end
// of a socket pair, and the other end, which reads what the client is sent.
func listSession(t *testing.T, ctx context.Context) (*session, *wire) {
	t.Helper()
	s := eventSession(t, ctx)
	client, peer := wirePair(t)
	s.client = client
	return s, peer
}

// TestListRefusedRecorded: a filtered list whose lookup or decision the
// session's end cut short leaves no record, as an event's does not
// (withholdEvent): the client is gone, nothing was refused it, and a
// refusal would give a cause the list did not have. A failure of the
// list's own is a refusal, recorded, though the session ended meanwhile;
// so is an invalid request, reason=refused as any call's refusal (an
// event's is invalid-request: reasonInvalid says why).
func TestListRefusedRecorded(t *testing.T) {
	procs := remoteProcs(t, proto.RemoteProcStoragePoolListAllVolumes, proto.RemoteProcConnectListAllSecrets)
	vols, secrets := procs[0], procs[1]
	refused := []string{"guard REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES storage_vol:getattr false refused"}
	for _, tt := range []struct {
		name    string
		p       *proto.Procedure
		args    proto.Message
		ret     proto.Message
		lookup  func(context.CancelFunc) lookupFunc
		gone    bool // the session ended before the list was filtered
		invalid bool // the engine refuses the request: the subject has no start time
		want    []string
	}{
		{"client gone during the lookup", vols, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: poolA, NeedResults: 1},
			&proto.RemoteStoragePoolListAllVolumesRet{Vols: []proto.RemoteNonnullStorageVol{vol1}, Ret: 1}, cancelling, false, false, nil},
		{"client gone before the decision", secrets, &proto.RemoteConnectListAllSecretsArgs{NeedResults: 1},
			&proto.RemoteConnectListAllSecretsRet{Secrets: []proto.RemoteNonnullSecret{sec1}, Ret: 1}, nil, true, false, nil},
		{"lookup failed, the session ended meanwhile", vols, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: poolA, NeedResults: 1},
			&proto.RemoteStoragePoolListAllVolumesRet{Vols: []proto.RemoteNonnullStorageVol{vol1}, Ret: 1}, func(cancel context.CancelFunc) lookupFunc {
				return func(proto.RemoteProcedure, proto.Message, proto.Message) error {
					cancel()
					return errors.New("lookup connection: EOF")
				}
			}, false, false, refused},
		// An entry left out is recorded beside its list's record, never
		// without: not when the session ended before the decision...
		{"client gone before the decision, an entry left out", secrets, &proto.RemoteConnectListAllSecretsArgs{NeedResults: 1},
			&proto.RemoteConnectListAllSecretsRet{Secrets: []proto.RemoteNonnullSecret{unknownSecret, sec1}, Ret: 2}, nil, true, false, nil},
		// ...nor when it ended at a later entry's lookup.
		{"client gone during a later lookup, an entry left out", vols, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: poolA, NeedResults: 1},
			&proto.RemoteStoragePoolListAllVolumesRet{Vols: []proto.RemoteNonnullStorageVol{{Pool: "poolGone", Name: "v9"}, vol1}, Ret: 2},
			func(cancel context.CancelFunc) lookupFunc {
				return func(_ proto.RemoteProcedure, args, _ proto.Message) error {
					if args.(*proto.RemoteStoragePoolLookupByNameArgs).Name == "poolGone" {
						return &RemoteError{Proc: "STORAGE_POOL_LOOKUP_BY_NAME", Body: &frame.ErrorBody{Code: errNoStoragePool}}
					}
					cancel()
					return context.Canceled
				}
			}, false, false, nil},
		{"invalid request", secrets, &proto.RemoteConnectListAllSecretsArgs{NeedResults: 1},
			&proto.RemoteConnectListAllSecretsRet{Secrets: []proto.RemoteNonnullSecret{sec1}, Ret: 1}, nil, false, true,
			[]string{"guard REMOTE_PROC_CONNECT_LIST_ALL_SECRETS secret:getattr false refused"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, c, log := sessionChecker(t, tt.gone, tt.lookup, map[string]bool{})
			if tt.invalid {
				c.subject.StartTime = 0
			}
			body, err := proto.Marshal(tt.ret)
			if err != nil {
				t.Fatal(err)
			}
			r := &frame.Message{Header: frame.Header{Prog: uint32(proto.Remote), Proc: tt.p.Number(), Type: frame.Reply, Serial: 7}, Body: body}
			s, peer := listSession(t, ctx)
			s.pending = map[uint32]*pendingCall{7: {prog: uint32(proto.Remote), proc: tt.p.Number()}}
			s.sendFiltered(c, tt.p, tt.args, r)
			if got := log.records(); !slices.Equal(got, tt.want) {
				t.Errorf("records %q, want %q", got, tt.want)
			}
			if _, inFlight := s.pending[7]; inFlight {
				t.Error("serial 7 still in flight")
			}
			// What the client was sent was written before sendFiltered
			// returned: a refusal when recorded, else nothing. (A
			// deadline already past would fail the read untried.)
			peer.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			m, _, err := peer.read()
			switch {
			case tt.want == nil && !errors.Is(err, os.ErrDeadlineExceeded):
				t.Errorf("an abandoned list's client was sent %+v (%v), want nothing", m, err)
			case tt.want != nil && (err != nil || m.Header.Serial != 7 || m.Header.Status != frame.Error):
				t.Errorf("a refused list's client was sent %+v (%v), want an error reply to serial 7", m, err)
			}
		})
	}
}
