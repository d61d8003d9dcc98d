// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
)

// envEcho names the socket TestBenchEcho serves.
const envEcho = "VAH_BENCH_ECHO"

// limits measures what the machine itself allows, in the same run as the
// daemon: a raw round trip of a Check-sized message over a UNIX socket
// to an echo process, and how fast one process can hand USER_AVC records
// to the kernel while auditd runs, with and without an acknowledgement.
func (b *bench) limits() {
	msg := checkMessage(b.subj.Subject())
	lat, err := b.echo(msg, cachedCalls)
	if err != nil {
		b.t.Fatalf("raw round trip: %v", err)
	}
	b.report.timing(rawRoundTrip, lat, "round trips/s")
	b.report.add(rawRoundTrip, "message size", float64(len(msg)), "bytes")
	for _, ack := range []bool{true, false} {
		rate, err := sendRecords(recordCalls, ack, b.token)
		if err != nil {
			b.t.Fatalf("raw USER_AVC records (ack %v): %v", ack, err)
		}
		b.report.add(rawRecords(ack), "one sender in a row", rate, "records/s")
	}
}

// checkMessage is the varlink call the client sends for the benchmark's
// on-behalf Check, NUL included: the echo's message has its size.
func checkMessage(s *accessapi.Subject) []byte {
	params := accessapi.CheckParams{Object: domain("bench-cached-r000000", 1), Permission: "start", Subject: s}
	data, err := json.Marshal(struct {
		Method     string                `json:"method"`
		Parameters accessapi.CheckParams `json:"parameters"`
	}{accessapi.Interface + ".Check", params})
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return append(data, 0)
}

// echo starts TestBenchEcho as a process of its own and times n round
// trips of msg on one connection.
func (b *bench) echo(msg []byte, n int) (Latency, error) {
	sock := filepath.Join(b.w.Dir, "echo.sock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchEcho$")
	cmd.Env = []string{envEcho + "=" + sock}
	// Its output is go test's own (PASS): a failed echo shows as a
	// failed round trip.
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return Latency{}, err
	}
	defer func() {
		cmd.Process.Kill() // by pid: the child this started
		cmd.Wait()
	}()
	c, err := dialWait(sock, 30*time.Second)
	if err != nil {
		return Latency{}, err
	}
	defer c.Close()
	reply := make([]byte, len(msg))
	return loop(n, func(int) error {
		if _, err := c.Write(msg); err != nil {
			return err
		}
		_, err := io.ReadFull(c, reply)
		return err
	})
}

// dialWait connects to sock once something listens there.
func dialWait(sock string, limit time.Duration) (net.Conn, error) {
	for deadline := time.Now().Add(limit); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("unix", sock)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
	}
}

// TestBenchEcho is the echo process of the raw round trip: it accepts one
// connection on $VAH_BENCH_ECHO and writes back whatever it reads.
func TestBenchEcho(t *testing.T) {
	sock := os.Getenv(envEcho)
	if sock == "" {
		// Not a skip: CI counts skips as failures, and alone this has
		// nothing to do.
		t.Log("the echo process of TestBench's raw round trip; nothing to do on its own")
		return
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// recordCalls is how many raw records are sent each way.
const recordCalls = 20000

// sendRecords sends n USER_AVC records shaped like the daemon's (the same
// fields, about the same size) from this process, waiting for the
// kernel's acknowledgement of each when ack is set, and returns the
// records per second. The records name vm "bench-limit-<token>", so a
// reader of the audit log can tell them from the daemon's.
func sendRecords(n int, ack bool, token string) (float64, error) {
	c, err := libaudit.NewAuditClient(nil)
	if err != nil {
		return 0, fmt.Errorf("open audit netlink socket: %w", err)
	}
	defer c.Close()
	text := []byte(fmt.Sprintf("decision=granted permission=start action_id=org.libvirt.api.domain.start tclass=domain "+
		"vm=\"bench-limit-%s\" pid=%d uid=1001 sauid=4294967295 ses=4294967295 uuid=b0000000-0000-4000-8000-000000000001 "+
		"connect_driver=\"QEMU\" domain_name=\"bench-limit-%s\" domain_uuid=\"b0000000-0000-4000-8000-000000000001\" "+
		"driver=polkit cached=yes requester=other exe=\"%s\" hostname=? addr=? terminal=? res=success\x00",
		token, os.Getpid(), token, os.Args[0]))
	flags := uint16(syscall.NLM_F_REQUEST)
	if ack {
		flags |= syscall.NLM_F_ACK
	}
	msg := syscall.NetlinkMessage{Header: syscall.NlMsghdr{Type: auditUserAVC, Flags: flags}, Data: text}
	start := time.Now()
	for i := range n {
		seq, err := c.Netlink.Send(msg)
		if err != nil {
			return 0, fmt.Errorf("record %d: %w", i, err)
		}
		if ack {
			if err := waitAck(c, seq); err != nil {
				return 0, fmt.Errorf("record %d: %w", i, err)
			}
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// auditUserAVC is the kernel's AUDIT_USER_AVC message type.
const auditUserAVC = 1107

// waitAck reads the kernel's answer to request seq.
func waitAck(c *libaudit.AuditClient, seq uint32) error {
	for {
		msgs, err := c.Netlink.Receive(false, syscall.ParseNetlinkMessage)
		if err != nil {
			return fmt.Errorf("read the kernel's answer: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq == seq && m.Header.Type == syscall.NLMSG_ERROR {
				return libaudit.ParseNetlinkError(m.Data)
			}
		}
	}
}
