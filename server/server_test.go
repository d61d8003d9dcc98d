// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// These tests call the handlers directly with a scripted driver and a
// scripted process table; the daemon's tests drive the same handlers over
// a real socket with real polkitd and real users.

var (
	alice = proc.Process{PID: 100, UID: 1000, StartTime: 5}
	bob   = proc.Process{PID: 200, UID: 1001, StartTime: 7}
	root  = proc.Process{PID: 300, UID: 0, StartTime: 9}
)

// byName allows domains whose name starts with the subject's uid's owner.
type byName struct{ err error }

func (byName) Name() string { return "polkit" }
func (d byName) Check(_ context.Context, r access.Request) (bool, error) {
	if d.err != nil {
		return false, d.err
	}
	owner := map[uint32]string{1000: "alice-", 1001: "bob-", 0: ""}[r.Subject.UID]
	return strings.HasPrefix(r.Object.Name(), owner), nil
}

// grants authorizes the listed (uid, action) pairs.
type grants map[uint32][]string

func (g grants) Authorized(_ context.Context, p proc.Process, action string) (bool, error) {
	for _, a := range g[p.UID] {
		if a == action {
			return true, nil
		}
	}
	return false, nil
}

func newServer(t *testing.T, drv access.Driver, auth engine.Authorizer) *Server {
	t.Helper()
	return newServerTTL(t, drv, auth, 0)
}

// newServerTTL is newServer reusing polkit's yes to a privileged caller
// on its connection for privilegeTTL (cache_allow_ttl).
func newServerTTL(t testing.TB, drv access.Driver, auth engine.Authorizer, privilegeTTL time.Duration) *Server {
	t.Helper()
	c, err := authcache.New(authcache.Options{Size: 100, AllowTTL: 1e9, DenyTTL: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	e, err := access.New(access.Options{Drivers: []access.Driver{drv}, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.MaxObjects, cfg.CacheAllowTTL = 3, privilegeTTL
	rt := engine.New(&engine.Generation{Config: cfg, Engine: e, Authorizer: auth}, engine.Options{})
	t.Cleanup(rt.Close)
	procs := map[int32]proc.Process{alice.PID: alice, bob.PID: bob, root.PID: root}
	s, err := New(Options{Runtime: rt,
		Lookup: func(pid int32) (proc.Process, error) {
			if p, ok := procs[pid]; ok {
				return p, nil
			}
			return proc.Process{}, proc.ErrNoProcess
		}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// call invokes method as p with params given as JSON and returns the reply
// as JSON, or the varlink error's name.
func call(t *testing.T, s *Server, p proc.Process, method, params string) (string, string) {
	t.Helper()
	ctx := context.WithValue(context.Background(), callerKey{}, newConnCaller(p))
	out, err := s.Interface().Methods[method](ctx, &varlink.Call{Method: accessapi.Interface + "." + method, Parameters: jsontext.Value(params)})
	if err != nil {
		e, ok := varlink.AsError(err)
		if !ok {
			t.Fatalf("%s: non-varlink error %v", method, err)
		}
		return "", e.Name
	}
	b, _ := json.Marshal(out, json.Deterministic(true)) // as the server sends it
	return string(b), ""
}

const (
	aliceVM = `{"type":"domain","driver":"QEMU","attributes":{"domain_name":"alice-vm","domain_uuid":"00000000-0000-0000-0000-000000000001"}}`
	bobVM   = `{"type":"domain","driver":"QEMU","attributes":{"domain_name":"bob-vm","domain_uuid":"00000000-0000-0000-0000-000000000002"}}`
)

func TestCheck(t *testing.T) {
	s := newServer(t, byName{}, grants{1001: {policy.ActionCheckOther}})
	tests := []struct {
		name    string
		as      proc.Process
		params  string
		want    string // reply containing this, or
		wantErr string // this error
	}{
		{"own vm", alice, `{"object":` + aliceVM + `,"permission":"start"}`, `"allowed":true`, ""},
		{"other's vm is a policy deny", alice, `{"object":` + bobVM + `,"permission":"start"}`, `"allowed":false`, ""},
		{"qualified permission", alice, `{"object":` + aliceVM + `,"permission":"domain:start"}`, `"allowed":true`, ""},
		{"dashed permission", alice, `{"object":` + aliceVM + `,"permission":"open-graphics"}`, `"allowed":true`, ""},
		{"permission of another type", alice, `{"object":` + aliceVM + `,"permission":"network:start"}`, "", accessapi.ErrInvalidRequest},
		{"unknown permission", alice, `{"object":` + aliceVM + `,"permission":"fly"}`, "", accessapi.ErrUnknownPermission},
		{"unknown object type", alice, `{"object":{"type":"spaceship","driver":"QEMU"},"permission":"start"}`, "", accessapi.ErrInvalidRequest},
		{"bad uuid", alice, `{"object":{"type":"domain","driver":"QEMU","attributes":{"domain_name":"a","domain_uuid":"x"}},"permission":"start"}`, "", accessapi.ErrInvalidRequest},
		{"itself by pid", alice, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100,"uid":1000}}`, `"allowed":true`, ""},
		{"itself, wrong start time", alice, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100,"startTime":6}}`, "", accessapi.ErrNoSuchProcess},
		{"unprivileged about another", alice, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":200}}`, "", accessapi.ErrNotPrivileged},
		{"root about another", root, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100,"uid":1000}}`, `"allowed":true`, ""},
		{"root about another, denied", root, `{"object":` + bobVM + `,"permission":"start","subject":{"pid":100,"uid":1000}}`, `"allowed":false`, ""},
		{"root about another, unpinned", root, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100}}`, "", accessapi.ErrInvalidRequest},
		{"polkit-privileged about another", bob, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100,"uid":1000}}`, `"allowed":true`, ""},
		{"uid mismatch", root, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100,"uid":1001}}`, "", accessapi.ErrNoSuchProcess},
		{"no such process", root, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":999,"uid":1000}}`, "", accessapi.ErrNoSuchProcess},
		{"invalid pid", root, `{"object":` + aliceVM + `,"permission":"start","subject":{"pid":-1}}`, "", accessapi.ErrInvalidRequest},
		{"wrong type", alice, `{"object":` + aliceVM + `,"permission":7}`, "", varlink.ErrInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errName := call(t, s, tt.as, "Check", tt.params)
			if errName != tt.wantErr || !strings.Contains(got, tt.want) {
				t.Errorf("got %s %s, want %q %s", got, errName, tt.want, tt.wantErr)
			}
		})
	}
}

func TestUnavailableIsAnError(t *testing.T) {
	s := newServer(t, byName{err: errors.New("polkit down")}, nil)
	if _, errName := call(t, s, alice, "Check", `{"object":`+aliceVM+`,"permission":"start"}`); errName != accessapi.ErrAuthorizationUnavailable {
		t.Errorf("error %q, want AuthorizationUnavailable", errName)
	}
}

func TestCheckMany(t *testing.T) {
	s := newServer(t, byName{}, nil)
	got, errName := call(t, s, alice, "CheckMany", `{"permission":"getattr","objects":[`+aliceVM+`,`+bobVM+`]}`)
	if errName != "" || !strings.Contains(got, `"results":[{"allowed":true`) || !strings.Contains(got, `},{"allowed":false`) {
		t.Errorf("got %s %s", got, errName)
	}
	if _, errName := call(t, s, alice, "CheckMany", `{"permission":"getattr","objects":[`+aliceVM+`,`+aliceVM+`,`+aliceVM+`,`+aliceVM+`]}`); errName != accessapi.ErrInvalidRequest {
		t.Errorf("over max objects: %q", errName)
	}
	if got, _ := call(t, s, alice, "CheckMany", `{"permission":"getattr","objects":[]}`); got != `{"results":[]}` {
		t.Errorf("no objects: %s", got)
	}
}

func TestPrivilegedMethods(t *testing.T) {
	s := newServer(t, byName{}, grants{1001: {policy.ActionStats}})
	call(t, s, alice, "Check", `{"object":`+aliceVM+`,"permission":"start"}`)
	tests := []struct {
		as      proc.Process
		method  string
		params  string
		wantErr string
	}{
		{alice, "Stats", ``, accessapi.ErrNotPrivileged},
		{alice, "Flush", ``, accessapi.ErrNotPrivileged},
		{bob, "Stats", ``, ""},
		{bob, "Flush", ``, accessapi.ErrNotPrivileged},
		{root, "Stats", ``, ""},
		{root, "Flush", `{"uid":1000}`, ""},
		{root, "Flush", `{"uid":-1}`, accessapi.ErrInvalidRequest},
		{root, "Flush", ``, ""},
	}
	for _, tt := range tests {
		if _, errName := call(t, s, tt.as, tt.method, tt.params); errName != tt.wantErr {
			t.Errorf("%s as uid %d: error %q, want %q", tt.method, tt.as.UID, errName, tt.wantErr)
		}
	}
	got, _ := call(t, s, root, "Stats", ``)
	if !strings.Contains(got, `"decisions":1`) || !strings.Contains(got, `"drivers":"polkit"`) {
		t.Errorf("stats %s", got)
	}
}

// counting authorizes everything and counts the questions.
type counting struct{ n int }

func (c *counting) Authorized(context.Context, proc.Process, string) (bool, error) {
	c.n++
	return true, nil
}

func TestPrivilegeReusedOnConnection(t *testing.T) {
	for _, tt := range []struct {
		ttl       time.Duration
		wantAsked int
	}{{0, 3}, {time.Minute, 1}} {
		auth := &counting{}
		s := newServerTTL(t, byName{}, auth, tt.ttl)
		conn := newConnCaller(bob)
		ctx := context.WithValue(context.Background(), callerKey{}, conn)
		for range 3 {
			_, err := s.Interface().Methods["Check"](ctx, &varlink.Call{Parameters: jsontext.Value(`{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100,"uid":1000}}`)})
			if err != nil {
				t.Fatal(err)
			}
		}
		if auth.n != tt.wantAsked {
			t.Errorf("TTL %v: polkit asked %d times for 3 calls, want %d", tt.ttl, auth.n, tt.wantAsked)
		}
	}
}

// BenchmarkCheckMethod is the Check method's part of a cached decision
// asked on behalf of another process: the parameters' decoding, the
// caller's rights, the subject and the engine.
func BenchmarkCheckMethod(b *testing.B) {
	s := newServerTTL(b, byName{}, &counting{}, time.Minute)
	ctx := context.WithValue(context.Background(), callerKey{}, newConnCaller(root))
	check := s.Interface().Methods["Check"]
	params := jsontext.Value(`{"object":` + aliceVM + `,"permission":"start","subject":{"pid":100,"uid":1000}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := check(ctx, &varlink.Call{Method: accessapi.Interface + ".Check", Parameters: params}); err != nil {
			b.Fatal(err)
		}
	}
}
