// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// envEcho names the socket TestBenchEcho serves; envEchoRecord, when
// set, is the text of the record it sends after each reply.
const (
	envEcho       = "VAH_BENCH_ECHO"
	envEchoRecord = "VAH_BENCH_ECHO_RECORD"
)

// records measures how fast one process can hand USER_AVC records to
// the kernel while auditd runs, with and without an acknowledgement, in
// a burst (the kernel's backlog takes what auditd has not read yet). The
// other limits are measured beside the runs they bound: the raw round
// trip in turns with the cached decisions (cached), 10,000 records in a
// row with the cached CheckMany (warmCheckMany), and a sender running as
// long as the sustained run just before it (sustained).
func (b *bench) records() {
	for _, ack := range []bool{true, false} {
		n, took := b.sender(ack).run(b.t, recordCalls, 0)
		b.report.add(rawRecords(ack), measureBurst, float64(n)/took.Seconds(), "records/s")
	}
}

// sender is a raw sender of records like the daemon's for this run.
func (b *bench) sender(ack bool) recordSender {
	return recordSender{ack: ack, token: b.token, uid: b.user.UID}
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

// startEcho starts TestBenchEcho as a process of its own, stopped at the
// test's end, and returns a round trip of msg to it on each of conns
// connections of its own, and its pid. With audited, the echo hands the
// kernel one raw record (of the sender's shape, without waiting for an
// acknowledgement) after each reply, as an audited answer must, one
// record per write.
func (b *bench) startEcho(msg []byte, audited bool, conns int) (trips []func(int) error, pid int) {
	name := "echo.sock"
	env := []string{}
	if audited {
		name = "echo-audited.sock"
		env = append(env, envEchoRecord+"="+b.sender(false).text())
	}
	sock := filepath.Join(b.w.Dir, fmt.Sprintf("%d-%s", conns, name))
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchEcho$")
	cmd.Env = append(env, envEcho+"="+sock)
	// Its output is go test's own (PASS): a failed echo shows as a
	// failed round trip.
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := testsys.StartProcess(cmd); err != nil {
		b.t.Fatalf("raw round trip: %v", err)
	}
	b.t.Cleanup(func() {
		cmd.Process.Kill() // by pid: the child this started
		cmd.Wait()
	})
	trips = make([]func(int) error, conns)
	for i := range trips {
		c, err := dialWait(sock, 30*time.Second)
		if err != nil {
			b.t.Fatalf("raw round trip: %v", err)
		}
		b.t.Cleanup(func() { c.Close() })
		reply := make([]byte, len(msg))
		trips[i] = func(int) error {
			if _, err := c.Write(msg); err != nil {
				return err
			}
			_, err := io.ReadFull(c, reply)
			return err
		}
	}
	return trips, cmd.Process.Pid
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

// TestBenchEcho is the echo process of the raw round trips: it accepts
// connections on $VAH_BENCH_ECHO and, on each, writes back whatever it
// reads, then, with $VAH_BENCH_ECHO_RECORD, hands that record to the
// kernel: one per read, which is one per message, as each client waits
// for each reply. The record follows the reply, as the daemon's does at
// level 1, so its cost overlaps the client's next message as the
// daemon's can. Each connection is served on a goroutine of its own, as
// the daemon serves one, and sends its records alone on an audit socket
// of its own (the daemon's writer sends a batch per write on one). A
// connection whose record the kernel refuses is closed: its round trip
// fails.
func TestBenchEcho(t *testing.T) {
	sock := os.Getenv(envEcho)
	if sock == "" {
		// Not a skip: CI counts skips as failures, and alone this has
		// nothing to do.
		t.Log("the echo process of TestBench's raw round trips; nothing to do on its own")
		return
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	text := os.Getenv(envEchoRecord)
	for { // until the benchmark kills this process
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer c.Close()
			if err := echo(c, text); err != nil {
				t.Errorf("raw round trip: %v", err)
			}
		}()
	}
}

// echo writes back what it reads on c, each reply followed by a record
// of text when text is not empty, until c is closed.
func echo(c net.Conn, text string) error {
	record, closeRecords, err := recordAfter(text)
	if err != nil {
		return err
	}
	defer closeRecords()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil // the client is done
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return nil
		}
		if err := record(); err != nil {
			return fmt.Errorf("raw record after the reply: %w", err)
		}
	}
}

// recordAfter returns what the echo does after each reply, and how to
// release it: send text as a USER_AVC record, without waiting for the
// kernel's acknowledgement (the daemon's level 1 does not wait either),
// or nothing if text is empty. The kernel answers a record it refuses
// all the same: every refusalCheck records, the answers queued so far
// are read, so that a refused record fails the round trip at a cost of
// one read in that many.
func recordAfter(text string) (record func() error, closeRecords func(), err error) {
	if text == "" {
		return func() error { return nil }, func() {}, nil
	}
	c, err := libaudit.NewAuditClient(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("open audit netlink socket: %w", err)
	}
	msg := syscall.NetlinkMessage{Header: syscall.NlMsghdr{Type: auditUserAVC, Flags: syscall.NLM_F_REQUEST}, Data: append([]byte(text), 0)}
	sent := 0
	return func() error {
		if _, err := c.Netlink.Send(msg); err != nil {
			return err
		}
		if sent++; sent%refusalCheck == 0 {
			return refusals(c)
		}
		return nil
	}, func() { c.Close() }, nil
}

// refusalCheck is how many records the echo sends between reads of
// the kernel's refusals.
const refusalCheck = 256

// refusals reads the kernel's answers queued on c, without waiting, and
// returns the first refusal among them.
func refusals(c *libaudit.AuditClient) error {
	for {
		msgs, err := c.Netlink.Receive(true, syscall.ParseNetlinkMessage)
		if errors.Is(err, syscall.EAGAIN) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the kernel's answers: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != syscall.NLMSG_ERROR {
				continue
			}
			if err := libaudit.ParseNetlinkError(m.Data); err != nil {
				return fmt.Errorf("the kernel refused a record: %w", err)
			}
		}
	}
}

// recordCalls is how many raw records a burst sends.
const recordCalls = 20000

// recordSender sends USER_AVC records shaped like the daemon's (the same
// fields, about the same size, the benchmark user's uid, which auditd
// names in its log as it does the daemon's) from this process, waiting
// for the kernel's acknowledgement of each when ack is set. The records
// name vm "bench-limit-<token>", so a reader of the audit log can tell
// them from the daemon's.
type recordSender struct {
	ack   bool
	token string
	uid   uint32
}

// text is the sender's record, without the NUL the kernel is sent.
func (s recordSender) text() string {
	return fmt.Sprintf("decision=granted permission=start action_id=org.libvirt.api.domain.start tclass=domain "+
		"vm=\"bench-limit-%s\" pid=%d uid=%d sauid=4294967295 ses=4294967295 uuid=b0000000-0000-4000-8000-000000000001 "+
		"connect_driver=\"QEMU\" domain_name=\"bench-limit-%s\" domain_uuid=\"b0000000-0000-4000-8000-000000000001\" "+
		"driver=polkit cached=yes requester=other exe=\"%s\" hostname=? addr=? terminal=? res=success",
		s.token, os.Getpid(), s.uid, s.token, os.Args[0])
}

// run waits until auditd is done with what it was sent before
// (waitAuditdDone), then sends n records, or as many as it can for d,
// and returns how many it sent and how long that took.
func (s recordSender) run(t *testing.T, n int, d time.Duration) (int, time.Duration) {
	waitAuditdDone(t)
	c, err := libaudit.NewAuditClient(nil)
	if err != nil {
		t.Fatalf("raw USER_AVC records: open audit netlink socket: %v", err)
	}
	defer c.Close()
	text := append([]byte(s.text()), 0)
	flags := uint16(syscall.NLM_F_REQUEST)
	if s.ack {
		flags |= syscall.NLM_F_ACK
	}
	msg := syscall.NetlinkMessage{Header: syscall.NlMsghdr{Type: auditUserAVC, Flags: flags}, Data: text}
	start := time.Now()
	end := start.Add(d)
	sent := 0
	for ; n > 0 && sent < n || n == 0 && (sent%256 != 0 || time.Now().Before(end)); sent++ {
		seq, err := c.Netlink.Send(msg)
		if err == nil && s.ack {
			err = waitAck(c, seq)
		}
		if err != nil {
			t.Fatalf("raw USER_AVC records (ack %v): record %d: %v", s.ack, sent, err)
		}
	}
	return sent, time.Since(start)
}

// waitAuditdDone waits, for at most a minute, until auditd has read
// every record the kernel holds and has done with them: the backlog is
// empty and auditd has used no CPU for auditdRest. A run that starts
// then has the cores to itself, as the next one will. On a host whose
// auditd never rests that long, it says so and lets the run go on.
func waitAuditdDone(t *testing.T) {
	restSince, lastCPU := time.Now(), ^uint64(0)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		st, err := testsys.AuditStatus()
		if err != nil {
			t.Fatal(err)
		}
		cpu, err := processCPU(st["pid"])
		if err != nil {
			t.Fatalf("auditd's CPU time: %v", err)
		}
		now := time.Now()
		if st["backlog"] != "0" || cpu != lastCPU {
			restSince, lastCPU = now, cpu
		} else if now.Sub(restSince) >= auditdRest {
			return
		}
		if now.After(deadline) {
			t.Logf("auditd still busy after a minute (backlog %s): measuring anyway", st["backlog"])
			return
		}
	}
}

// auditdRest is how long auditd must have used no CPU to count as done.
const auditdRest = 50 * time.Millisecond

// processCPU returns the nanoseconds process pid's threads have run (the
// first field of each /proc/PID/task/TID/schedstat). It fails when no
// thread's could be read: a benchmark that cannot see what a process
// used must not read that as nothing.
func processCPU(pid string) (uint64, error) {
	paths, err := filepath.Glob("/proc/" + pid + "/task/*/schedstat")
	if err != nil || len(paths) == 0 {
		return 0, fmt.Errorf("process %s: no threads' schedstat to read", pid)
	}
	var sum uint64
	read := 0
	for _, path := range paths { // auditd writes its log on a thread of its own
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		ns, _, _ := strings.Cut(string(b), " ")
		n, err := strconv.ParseUint(ns, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		sum += n
		read++
	}
	if read == 0 {
		return 0, fmt.Errorf("process %s: every thread ended while read", pid)
	}
	return sum, nil
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
