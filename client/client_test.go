// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
	"github.com/virt-acl-helper/virt-acl-helper/server"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// These tests run the client against the real server, in process, on a
// socket in a temporary directory. The engine's driver is scripted (it
// allows domains whose name starts with "mine-") and the helper's own
// actions are granted to everyone, so nothing here needs polkit, audit or
// a particular uid; the daemon's tests cover those.

// mine allows domains whose name starts with "mine-".
type mine struct{}

func (mine) Name() string { return "polkit" }
func (mine) Check(_ context.Context, r access.Request) (bool, error) {
	return strings.HasPrefix(r.Object.Name(), "mine-"), nil
}

// everyone grants the helper's own actions to every caller.
type everyone struct{}

func (everyone) Authorized(context.Context, proc.Process, string) (bool, error) { return true, nil }

// serve runs the interface on a new socket and returns its path.
func serve(t *testing.T) string {
	t.Helper()
	cache, err := authcache.New(authcache.Options{Size: 100, AllowTTL: time.Minute, DenyTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e, err := access.New(access.Options{Drivers: []access.Driver{mine{}}, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.MaxObjects = 2
	rt := engine.New(&engine.Generation{Config: cfg, Engine: e, Authorizer: everyone{}}, engine.Options{})
	t.Cleanup(rt.Close)
	srv, err := server.New(server.Options{Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := varlink.NewServer(varlink.Options{ConnContext: srv.ConnContext, ProtocolError: server.InvalidRequest}, srv.Interface())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- vs.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		vs.Shutdown(ctx)
		<-served
	})
	return path
}

func dial(t *testing.T, path string) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// vm is a domain whose UUID follows from its name, so that domains of
// different names are different objects.
func vm(name string) accessapi.Object {
	sum := sha256.Sum256([]byte(name))
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return accessapi.Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{"domain_name": name, "domain_uuid": uuid}}
}

func TestCheck(t *testing.T) {
	c := dial(t, serve(t))
	tests := []struct {
		name        string
		params      accessapi.CheckParams
		wantAllowed bool
		wantErr     string // the varlink error name; "" for an answer
	}{
		{"allowed", accessapi.CheckParams{Object: vm("mine-1"), Permission: "start"}, true, ""},
		{"a policy deny is an answer", accessapi.CheckParams{Object: vm("theirs"), Permission: "start"}, false, ""},
		{"unknown permission", accessapi.CheckParams{Object: vm("mine-1"), Permission: "fly"}, false, accessapi.ErrUnknownPermission},
		{"invalid object", accessapi.CheckParams{Object: accessapi.Object{Type: "spaceship"}, Permission: "start"}, false, accessapi.ErrInvalidRequest},
		{"invalid subject", accessapi.CheckParams{Object: vm("mine-1"), Permission: "start", Subject: &accessapi.Subject{PID: -1}}, false, accessapi.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Check(ctx(t), tt.params)
			if got := client.ErrorName(err); got != tt.wantErr {
				t.Fatalf("error %q (%v), want %q", got, err, tt.wantErr)
			}
			if r.Allowed != tt.wantAllowed {
				t.Errorf("result %+v, want allowed %v", r, tt.wantAllowed)
			}
			if err == nil && r.Driver != "polkit" {
				t.Errorf("result %+v names no driver", r)
			}
		})
	}
	// The connection survives an error reply.
	if r, err := c.Check(ctx(t), accessapi.CheckParams{Object: vm("mine-1"), Permission: "start"}); err != nil || !r.Allowed || !r.Cached {
		t.Errorf("after errors: %+v, %v; want a cached allow", r, err)
	}
}

func TestCheckMany(t *testing.T) {
	c := dial(t, serve(t))
	rs, err := c.CheckMany(ctx(t), accessapi.CheckManyParams{Permission: "getattr", Objects: []accessapi.Object{vm("theirs"), vm("mine-2")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Allowed || !rs[1].Allowed {
		t.Errorf("results %+v, want denied then allowed", rs)
	}
	_, err = c.CheckMany(ctx(t), accessapi.CheckManyParams{Permission: "getattr", Objects: []accessapi.Object{vm("a"), vm("b"), vm("c")}})
	if got := client.ErrorName(err); got != accessapi.ErrInvalidRequest {
		t.Errorf("over max_objects: error %q, want InvalidRequest", got)
	}
}

func TestFlushAndStats(t *testing.T) {
	c := dial(t, serve(t))
	for _, name := range []string{"mine-1", "mine-2", "theirs"} {
		if _, err := c.Check(ctx(t), accessapi.CheckParams{Object: vm(name), Permission: "start"}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Stats(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Drivers != "polkit" || s.Decisions != 3 || s.Allowed != 2 || s.Denied != 1 || s.Cache.Entries != 3 || s.Connections != 0 {
		t.Errorf("stats %+v", s)
	}
	obj := vm("mine-1")
	if n, err := c.Flush(ctx(t), accessapi.FlushParams{Object: &obj}); err != nil || n != 1 {
		t.Errorf("flush one object: %d, %v; want 1", n, err)
	}
	if n, err := c.Flush(ctx(t), accessapi.FlushParams{}); err != nil || n != 2 {
		t.Errorf("flush all: %d, %v; want 2", n, err)
	}
	bad := int64(-1)
	if _, err := c.Flush(ctx(t), accessapi.FlushParams{UID: &bad}); client.ErrorName(err) != accessapi.ErrInvalidRequest {
		t.Errorf("flush uid -1: %v, want InvalidRequest", err)
	}
}

// TestConcurrentCalls shares one client between goroutines, as its
// documentation allows (run with -race).
func TestConcurrentCalls(t *testing.T) {
	c := dial(t, serve(t))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				r, err := c.Check(ctx(t), accessapi.CheckParams{Object: vm("mine-1"), Permission: "start"})
				if err == nil && !r.Allowed {
					err = errors.New("denied")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDialFails(t *testing.T) {
	if _, err := client.Dial(ctx(t), filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Error("Dial of a missing socket succeeded")
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv(client.SocketEnv, "")
	if want, got := accessapi.DefaultSocket, client.SocketPath(); got != want {
		t.Errorf("SocketPath() = %q, want %q", got, want)
	}
	t.Setenv(client.SocketEnv, "/tmp/other.sock")
	if want, got := "/tmp/other.sock", client.SocketPath(); got != want {
		t.Errorf("SocketPath() with $%s = %q, want %q", client.SocketEnv, got, want)
	}
}

func TestErrorName(t *testing.T) {
	if got := client.ErrorName(errors.New("connection refused")); got != "" {
		t.Errorf("ErrorName of a connection error = %q, want none", got)
	}
	if got := client.ErrorName(nil); got != "" {
		t.Errorf("ErrorName(nil) = %q", got)
	}
}
