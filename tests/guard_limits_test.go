// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
)

// The flood's numbers: the guard's limits and what user A tries.
const (
	floodPerUser = 3  // max_clients_per_user
	floodConns   = 10 // connections A opens
	floodRate    = 20 // rate_limit, calls a second
	floodBurst   = 30 // rate_limit_burst: virsh makes about ten calls
	floodCalls   = 300
)

// TestGuardFlood: user A opens more connections than max_clients_per_user
// and pipelines calls far over rate_limit through a real guard in front of
// a real libvirtd. The guard refuses what is over the limits (resource
// busy), and user B, at the same time, is served.
func TestGuardFlood(t *testing.T) {
	w := newGuardWorld(t)
	rt := newGuardRuntime(t, w.bus, &memAuditor{})
	rt.Current().Rate = limit.NewRate(floodRate, floodBurst, nil) // before any client
	uri := serveGuard(t, filepath.Join(guardDir(t), "limited.sock"), guard.Options{
		Runtime: rt, Upstream: w.lv.Socket, Slots: limit.NewConns(64, 4, floodPerUser)})
	sock := strings.TrimPrefix(uri, "qemu:///system?socket=")

	readyDir := guardDir(t)
	if err := os.Chown(readyDir, int(w.a.UID), int(w.a.GID)); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(readyDir, "ready")
	cmd := testsys.CommandAs(t, w.a, "TestGuardFloodClient", map[string]string{
		"VAH_FLOOD_SOCK": sock, "VAH_FLOOD_READY": ready, "VAH_GUARD_VMA": w.vmA, "VAH_GUARD_UUIDA": w.uuidA})
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitReady(t, ready, exited, &out)

	// A holds its connections and has spent its calls: B is served, A's
	// next connection is refused.
	if got, err := testsys.VirshURI(uri, &w.b, "domstate", w.vmA); err != nil || strings.TrimSpace(got) != "shut off" {
		t.Errorf("user B during the flood: %v\n%s", err, got)
	}
	if got, err := testsys.VirshURI(uri, &w.a, "domstate", w.vmA); err == nil || !strings.Contains(got, "too many connections") {
		t.Errorf("user A's connection over the limit: %v\n%s", err, got)
	}
	os.Remove(ready)
	if err := <-exited; err != nil {
		t.Fatalf("flood client: %v\n%s", err, out.String())
	}
	var conns, connsBusy, calls, callsBusy int
	for _, line := range strings.Split(out.String(), "\n") {
		fmt.Sscanf(line, "connections: ok=%d busy=%d", &conns, &connsBusy)
		fmt.Sscanf(line, "calls: ok=%d busy=%d", &calls, &callsBusy)
	}
	if conns != floodPerUser || connsBusy != floodConns-floodPerUser {
		t.Errorf("connections: %d served, %d refused; want %d, %d\n%s", conns, connsBusy, floodPerUser, floodConns-floodPerUser, out.String())
	}
	if calls+callsBusy != floodCalls || callsBusy == 0 || calls < floodBurst {
		t.Errorf("calls: %d served, %d refused of %d; want at least %d served and some refused\n%s",
			calls, callsBusy, floodCalls, floodBurst, out.String())
	}
	t.Logf("user A: %d of %d connections, %d of %d calls served", conns, floodConns, calls, floodCalls)
}

// waitReady waits for the flood client to create ready.
func waitReady(t *testing.T, ready string, exited <-chan error, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("flood client ended early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("flood client not ready after 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGuardFloodClient is TestGuardFlood's client, run as user A.
func TestGuardFloodClient(t *testing.T) {
	sock := os.Getenv("VAH_FLOOD_SOCK")
	if sock == "" {
		t.Log("the client of TestGuardFlood; nothing to do on its own")
		return
	}
	var held []*rawClient
	busy := 0
	for range floodConns {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		rc := &rawClient{c: c}
		m, err := rc.call(proto.RemoteProcAuthList, &proto.Void{})
		switch code := replyCode(m, err); code {
		case 0:
			held = append(held, rc)
		case 87: // VIR_ERR_RESOURCE_BUSY
			busy++
			c.Close()
		default:
			t.Fatalf("connection: %d (%v)", code, err)
		}
	}
	fmt.Printf("connections: ok=%d busy=%d\n", len(held), busy)
	if len(held) == 0 {
		return
	}
	fmt.Printf("calls: ok=%d busy=%d\n", floodOne(t, held[0])...)
	if err := os.WriteFile(os.Getenv("VAH_FLOOD_READY"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(os.Getenv("VAH_FLOOD_READY")); err != nil {
			return
		}
	}
}

// floodOne opens rc's connection and sends floodCalls DOMAIN_GET_STATE
// calls at once, then counts the replies served and refused.
func floodOne(t *testing.T, rc *rawClient) []any {
	uri := "qemu:///system"
	if m, err := rc.call(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri}); replyCode(m, err) != 0 {
		t.Fatalf("open: %v", err)
	}
	body, err := proto.Marshal(&proto.RemoteDomainGetStateArgs{Dom: proto.RemoteNonnullDomain{
		Name: os.Getenv("VAH_GUARD_VMA"), UUID: envUUID("VAH_GUARD_UUIDA"), ID: -1}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range floodCalls {
			rc.serial++
			h := frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proto.RemoteProcDomainGetState), Type: frame.Call, Serial: rc.serial}
			if err := frame.Write(rc.c, &frame.Message{Header: h, Body: body}); err != nil {
				return
			}
		}
	}()
	ok, busy := 0, 0
	rc.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	for ok+busy < floodCalls {
		m, err := frame.Read(rc.c)
		if err != nil {
			t.Fatalf("after %d replies: %v", ok+busy, err)
		}
		if m.Header.Type != frame.Reply {
			continue
		}
		switch code := replyCode(m, nil); code {
		case 0:
			ok++
		case 87:
			busy++
		default:
			t.Fatalf("call: error %d", code)
		}
	}
	return []any{ok, busy}
}

// replyCode is a reply's libvirt error code, 0 for success, -1 when
// there is no reply.
func replyCode(m *frame.Message, err error) int32 {
	if err != nil {
		return -1
	}
	if m.Header.Status == frame.OK {
		return 0
	}
	eb, err := frame.ParseError(m.Body)
	if err != nil {
		return -1
	}
	return eb.Code
}
