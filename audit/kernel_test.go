// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// These tests write records through the real kernel to the real auditd and
// read them back with the real ausearch and aureport. Each marks its
// records with a VM name and UUID of its own.

// subject is a real process of a real test user, as a Record's subject.
type subject struct {
	user testsys.User
	proc testsys.Proc
	auid uint32
	ses  uint32
	exe  string
}

func newSubject(t *testing.T, name string) subject {
	t.Helper()
	u := testsys.AddUser(t, name)
	p := u.Start(t)
	s := subject{user: u, proc: p, auid: procUint(t, int(p.PID), "loginuid"), ses: procUint(t, int(p.PID), "sessionid")}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		t.Fatal(err)
	}
	s.exe = exe
	return s
}

func procUint(t *testing.T, pid int, file string) uint32 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

// domainRecord is s's request for permission on domain vm.
func (s subject) domainRecord(granted bool, permission, vm, uuid string) Record {
	r := Record{
		Granted:    granted,
		Permission: permission,
		ActionID:   "org.libvirt.api.domain." + strings.ReplaceAll(permission, "_", "-"),
		ObjectType: "domain",
		VMName:     vm,
		UUID:       uuid,
		Details:    []Detail{{"connect_driver", "QEMU"}, {"domain_name", vm}, {"domain_uuid", uuid}},
		PID:        int(s.proc.PID), UID: s.user.UID, AUID: s.auid, Session: s.ses, Exe: s.exe,
		Driver: "polkit",
	}
	if !granted {
		r.Reason = "policy"
	}
	return r
}

func newUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func uniqueName(t *testing.T, prefix string) string {
	return prefix + "-" + newUUID(t)[:8]
}

// openKernel opens a real Writer, closed at cleanup.
func openKernel(t *testing.T, cfg Config) *Writer {
	t.Helper()
	w, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

func mustWrite(t *testing.T, w *Writer, r Record) {
	t.Helper()
	if err := w.Write(context.Background(), r); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// events counts the USER_AVC records ausearch printed, one per event.
func events(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "type=USER_AVC ") {
			n++
		}
	}
	return n
}

func count(n int) func(string) bool { return func(out string) bool { return events(out) == n } }

func TestKernelRecordsAreSearchable(t *testing.T) {
	a := testsys.StartAuditd(t)
	alice, bob := newSubject(t, "alice"), newSubject(t, "bob")
	vm, uuid := uniqueName(t, "web"), newUUID(t)
	w := openKernel(t, Config{Level: Required})
	mustWrite(t, w, alice.domainRecord(true, "start", vm, uuid))
	denied := bob.domainRecord(false, "stop", vm, uuid)
	mustWrite(t, w, denied)
	cached := alice.domainRecord(true, "start", vm, uuid)
	cached.Cached = true
	mustWrite(t, w, cached)

	all := a.WaitSearch(t, count(3), "-m", "USER_AVC", "-i", "--vm-name", vm)
	t.Logf("ausearch -m USER_AVC -i --vm-name %s:\n%s", vm, all)
	for _, want := range []string{
		"type=USER_AVC", "decision=granted", "decision=denied reason=policy", "permission=stop",
		"action_id=org.libvirt.api.domain.start", "tclass=domain", "vm=" + vm, "uuid=" + uuid,
		"sauid=", "exe=" + alice.exe, "driver=polkit", "cached=yes", "cached=no", "res=success", "res=failed",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("ausearch -i output lacks %q", want)
		}
	}
	if n := events(a.Search(t, "--uuid", uuid)); n != 3 {
		t.Errorf("ausearch --uuid found %d events, want 3", n)
	}

	// -ua and -ui read the subject's uid= (the second uid= of the record).
	bobs := a.Search(t, "-i", "-ua", strconv.Itoa(int(bob.user.UID)), "--vm-name", vm)
	if events(bobs) != 1 || !strings.Contains(bobs, "permission=stop") {
		t.Errorf("ausearch -ua %d found:\n%s\nwant bob's one denial", bob.user.UID, bobs)
	}
	if n := events(a.Search(t, "-ui", strconv.Itoa(int(alice.user.UID)))); n != 2 {
		t.Errorf("ausearch -ui %d found %d events, want alice's 2", alice.user.UID, n)
	}

	// --success no: denials only.
	no := a.Search(t, "-i", "--success", "no", "--vm-name", vm)
	if events(no) != 1 || !strings.Contains(no, "decision=denied") {
		t.Errorf("ausearch --success no found:\n%s\nwant the one denial", no)
	}
	if n := events(a.Search(t, "--success", "yes", "--uuid", uuid)); n != 2 {
		t.Errorf("ausearch --success yes found %d events, want 2", n)
	}

	// -i names users. On an enriched log it names every uid= after the
	// kernel's after the first one (the helper's, root); without the
	// enrichment it looks the subject up, and -ua takes a name.
	plain := a.SearchUnenriched(t, "-i", "-ua", bob.user.Name)
	t.Logf("unenriched ausearch -i -ua %s:\n%s", bob.user.Name, plain)
	if events(plain) != 1 || !strings.Contains(plain, " uid="+bob.user.Name+" ") ||
		!strings.Contains(plain, "pid="+strconv.Itoa(int(bob.proc.PID))+" ") {
		t.Errorf("unenriched ausearch -i -ua %s does not show bob by name", bob.user.Name)
	}
	if !strings.Contains(all, "pid="+strconv.Itoa(os.Getpid())+" uid=root ") {
		t.Errorf("ausearch -i does not name the helper's user, root")
	}
	if st := w.Stats(); st.Sent != 3 || st.Lost.Total() != 0 {
		t.Errorf("stats %+v, want 3 sent", st)
	}
}

// dialKernel opens a record sender on the real kernel, closed at cleanup.
func dialKernel(t *testing.T) *kernelSender {
	t.Helper()
	k, err := dialSender()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.close() })
	return k
}

// TestKernelAnswersRefusalsOnly: the records of a batch ask for no
// answer, and the kernel still answers each message it refuses, by its
// own sequence number, before the write returns; every other record of
// the batch is taken, and auditd logs it.
func TestKernelAnswersRefusalsOnly(t *testing.T) {
	a := testsys.StartAuditd(t)
	s := newSubject(t, "frank")
	k := dialKernel(t)
	vm := uniqueName(t, "refused")
	// 999 is no audit message type: the kernel refuses it (EINVAL).
	types := []uint16{RecordType, 999, RecordType, RecordType, 999}
	errs := sendMessages(k, len(types), func(i int) (uint16, string) {
		return types[i], Format(s.domainRecord(true, "start", vm, newUUID(t)))
	})
	for i, typ := range types {
		want := error(nil)
		if typ != RecordType {
			want = syscall.EINVAL
		}
		if !errors.Is(errs[i], want) {
			t.Errorf("message %d (type %d): %v, want %v", i, typ, errs[i], want)
		}
	}
	a.WaitSearch(t, count(3), "-m", "USER_AVC", "--vm-name", vm)
	// Nothing is left to be read as the next batch's answers.
	if errs := k.send([][]byte{appendFormat(nil, s.domainRecord(true, "stop", vm, newUUID(t)))}); errs[0] != nil {
		t.Errorf("the next batch: %v", errs[0])
	}
	a.WaitSearch(t, count(4), "-m", "USER_AVC", "--vm-name", vm)
}

// TestKernelRefusalsOverflow: when the kernel's answers overflow the
// receive buffer, every record of the batch not known refused fails
// (none counts as taken), and the next batch's refusals still arrive:
// the overflowed queue was read to its end.
func TestKernelRefusalsOverflow(t *testing.T) {
	a := testsys.StartAuditd(t)
	s := newSubject(t, "grace")
	k := dialKernel(t)
	// The smallest buffer the kernel allows holds two or three answers.
	if err := syscall.SetsockoptInt(k.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 0); err != nil {
		t.Fatal(err)
	}
	vm := uniqueName(t, "overflow")
	text := Format(s.domainRecord(true, "start", vm, newUUID(t)))
	batch := func(types ...uint16) []error {
		return sendMessages(k, len(types), func(i int) (uint16, string) { return types[i], text })
	}

	refused := make([]uint16, maxBatch)
	for i := range refused {
		refused[i] = 999 // no audit message type: the kernel refuses it
	}
	unanswered := 0
	for i, err := range batch(refused...) {
		switch {
		case errors.Is(err, errUnanswered):
			unanswered++
		case !errors.Is(err, syscall.EINVAL):
			t.Fatalf("refused message %d: %v, want EINVAL or unanswered", i, err)
		}
	}
	if unanswered == 0 {
		t.Fatalf("%d refusals fit a minimal receive buffer: the overflow was not tested", maxBatch)
	}
	t.Logf("%d of %d refusals dropped by the kernel", unanswered, maxBatch)

	errs := batch(RecordType, 999)
	if errs[0] != nil || !errors.Is(errs[1], syscall.EINVAL) {
		t.Fatalf("the batch after the overflow: %v, want the record taken and the other refused", errs)
	}
	a.WaitSearch(t, count(1), "-m", "USER_AVC", "--vm-name", vm)
}

// TestKernelRequester: a record asked on the subject's behalf names the
// proxy, and ausearch's searches by uid, pid, UUID, VM name and
// executable still find the subject's records, never the proxy's, in
// both log formats.
func TestKernelRequester(t *testing.T) {
	a := testsys.StartAuditd(t)
	alice, proxy := newSubject(t, "alice"), newSubject(t, "proxy")
	vm, uuid := uniqueName(t, "px"), newUUID(t)
	w := openKernel(t, Config{Level: Required})
	mustWrite(t, w, alice.domainRecord(true, "start", vm, uuid))
	onBehalf := alice.domainRecord(false, "stop", vm, uuid)
	onBehalf.Requester = &Requester{PID: int(proxy.proc.PID), UID: proxy.user.UID, Exe: proxy.exe}
	mustWrite(t, w, onBehalf)

	all := a.WaitSearch(t, count(2), "-m", "USER_AVC", "-i", "--uuid", uuid)
	t.Logf("ausearch -i --uuid %s:\n%s", uuid, all)
	want := fmt.Sprintf("requester=proxy proxy_pid=%d proxy_user=%d proxy_program=", proxy.proc.PID, proxy.user.UID)
	if !strings.Contains(all, "requester=self ") || !strings.Contains(all, want) {
		t.Errorf("ausearch -i output lacks requester=self or %q", want)
	}
	aliceUID, proxyUID := strconv.Itoa(int(alice.user.UID)), strconv.Itoa(int(proxy.user.UID))
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"-ua", aliceUID, "--vm-name", vm}, 2},
		{[]string{"-ui", aliceUID}, 2},
		{[]string{"-ua", proxyUID}, 0},
		{[]string{"-ui", proxyUID}, 0},
		{[]string{"-ua", proxyUID, "--uuid", uuid}, 0},
		{[]string{"-p", strconv.Itoa(os.Getpid()), "--uuid", uuid}, 2},
		{[]string{"-p", strconv.Itoa(int(proxy.proc.PID))}, 0},
		{[]string{"-p", strconv.Itoa(int(alice.proc.PID))}, 0}, // -p is the writer's pid, as for any user record
		{[]string{"-w", "--vm-name", vm}, 2},
		{[]string{"--uuid", uuid, "--success", "no"}, 1},
		{[]string{"-x", alice.exe, "--uuid", uuid}, 2},
	} {
		if n := events(a.Search(t, tt.args...)); n != tt.want {
			t.Errorf("ausearch %s: %d events, want %d", strings.Join(tt.args, " "), n, tt.want)
		}
		if n := events(a.SearchUnenriched(t, tt.args...)); n != tt.want {
			t.Errorf("unenriched ausearch %s: %d events, want %d", strings.Join(tt.args, " "), n, tt.want)
		}
	}
	for _, name := range []string{alice.user.Name, proxy.user.Name} {
		wantN := 2
		if name == proxy.user.Name {
			wantN = 0
		}
		if n := events(a.SearchUnenriched(t, "-i", "-ua", name, "--vm-name", vm)); n != wantN {
			t.Errorf("unenriched ausearch -i -ua %s: %d events, want %d", name, n, wantN)
		}
	}
}

func TestKernelReports(t *testing.T) {
	a := testsys.StartAuditd(t)
	alice := newSubject(t, "carol")
	vm, uuid := uniqueName(t, "db"), newUUID(t)
	w := openKernel(t, Config{Level: Required})
	for _, p := range []string{"start", "getattr", "read"} {
		mustWrite(t, w, alice.domainRecord(true, p, vm, uuid))
	}
	mustWrite(t, w, alice.domainRecord(false, "open_graphics", vm, uuid))
	a.WaitSearch(t, count(4), "-m", "USER_AVC", "--uuid", uuid)

	avc := a.Report(t, "--avc", "-i")
	t.Logf("aureport --avc -i:\n%s", avc)
	if n := strings.Count(avc, " domain "); n < 4 {
		t.Errorf("aureport --avc lists %d domain decisions, want at least 4", n)
	}
	exe := a.Report(t, "-x", "--summary", "-i")
	t.Logf("aureport -x --summary -i:\n%s", exe)
	if !regexp.MustCompile(`(?m)^\d+\s+` + regexp.QuoteMeta(alice.exe) + `$`).MatchString(exe) {
		t.Errorf("aureport -x --summary does not count %s", alice.exe)
	}
	failed := a.Report(t, "--failed", "-e", "-i")
	t.Logf("aureport --failed -e -i:\n%s", failed)
	if !strings.Contains(failed, "USER_AVC") {
		t.Errorf("aureport --failed does not list the denial")
	}
	sum := a.Report(t, "--summary", "-i")
	t.Logf("aureport --summary -i:\n%s", sum)
	if !regexp.MustCompile(`Number of AVC's: [1-9]`).MatchString(sum) {
		t.Errorf("aureport --summary counts no AVC events")
	}
}

func TestKernelHostileVMName(t *testing.T) {
	a := testsys.StartAuditd(t)
	s := newSubject(t, "mallory")
	token := newUUID(t)[:8]
	names := []string{
		`a b"c-` + token,
		`x' res=success uid=0 vm="evil-` + token,
		"line\nbreak-" + token,
		"ünïcode-" + token,
	}
	w := openKernel(t, Config{Level: Required})
	for _, vm := range names {
		mustWrite(t, w, s.domainRecord(false, "start", vm, newUUID(t)))
	}
	for _, vm := range names {
		raw := a.WaitSearch(t, count(1), "--raw", "--vm-name", vm)
		if n := strings.Count(raw, "res="); n != 1 {
			t.Errorf("vm %q: %d res= fields in\n%s", vm, n, raw)
		}
		if !strings.Contains(raw, "res=failed'") || strings.Contains(raw, `vm="evil`) {
			t.Errorf("vm %q: forged fields in\n%s", vm, raw)
		}
		if n := events(a.Search(t, "--success", "yes", "--vm-name", vm)); n != 0 {
			t.Errorf("vm %q: the denial is found as a success", vm)
		}
		if n := events(a.Search(t, "-ua", strconv.Itoa(int(s.user.UID)), "--vm-name", vm)); n != 1 {
			t.Errorf("vm %q: -ua does not find the subject", vm)
		}
	}
	out := a.Search(t, "-i", "--vm-name", names[0])
	t.Logf("ausearch -i --vm-name %q:\n%s", names[0], out)
	if !strings.Contains(out, "vm="+names[0]) {
		t.Errorf("ausearch -i does not decode the vm name")
	}
	// --vm-name matches substrings; -w asks for the whole name.
	if n := events(a.Search(t, "-w", "--vm-name", `evil-`+token)); n != 0 {
		t.Errorf("the forged vm= was found")
	}
	if n := events(a.Search(t, "-w", "--vm-name", names[1])); n != 1 {
		t.Errorf("the hostile name is not found whole")
	}
}

func TestKernelAuditDisabled(t *testing.T) {
	a := testsys.StartAuditd(t)
	s := newSubject(t, "dave")
	a.Disable(t)

	_, err := Open(Config{Level: Required})
	var aerr *Error
	if !errors.As(err, &aerr) || aerr.Cause != Disabled {
		t.Fatalf("Open at level 2 with audit disabled = %v, want a Disabled *Error", err)
	}
	t.Logf("level 2 refuses: %v", err)

	vm := uniqueName(t, "off")
	w := openKernel(t, Config{Level: Auto, StatusInterval: 20 * time.Millisecond})
	for i := 0; i < 10; i++ {
		mustWrite(t, w, s.domainRecord(true, "start", vm, newUUID(t)))
	}
	waitFor(t, "10 losses", func() bool { return w.Stats().Lost[Disabled] == 10 })

	if out, err := exec.Command("auditctl", "-e", "1").CombinedOutput(); err != nil {
		t.Fatalf("auditctl -e 1: %v: %s", err, out)
	}
	waitFor(t, "audit to be seen enabled", func() bool { return w.Stats().Status.Enabled == 1 })
	mustWrite(t, w, s.domainRecord(true, "start", vm, newUUID(t)))
	a.WaitSearch(t, count(1), "--vm-name", vm)
	if st := w.Stats(); st.Sent != 1 || st.Lost.Total() != 10 {
		t.Errorf("stats %+v, want 1 sent and 10 lost", st)
	}
}

// childEnv marks a child of the capability tests: the test binary run
// again, with a capability dropped, to run just that test's child half.
const childEnv = "VIRT_ACL_HELPER_AUDIT_CHILD"

// runChild runs test again in a child without capability cap (setpriv's
// name for it), with env added, and fails unless the child passed.
func runChild(t *testing.T, test, cap string, env ...string) {
	t.Helper()
	setpriv := testsys.NeedCommand(t, "setpriv")
	// Dropping it from the bounding set before exec takes it out of the
	// child's permitted and effective sets, even for root.
	cmd := exec.Command(setpriv, "--bounding-set=-"+cap, "--inh-caps=-"+cap,
		os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), append(env, childEnv+"=1", testsys.IntegrationEnv+"=1")...)
	out, err := cmd.CombinedOutput()
	t.Logf("child without CAP_%s:\n%s", strings.ToUpper(cap), out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("child failed: %v", err)
	}
}

func TestKernelWithoutCapAuditWrite(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		noCapChild(t)
		return
	}
	testsys.StartAuditd(t)
	runChild(t, "TestKernelWithoutCapAuditWrite", "audit_write")
}

// TestKernelWithoutCapAuditControl runs the writer as a service should:
// with CAP_AUDIT_WRITE only. It cannot read the audit status then, and
// still writes, at level 2 too.
func TestKernelWithoutCapAuditControl(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		noControlChild(t)
		return
	}
	a := testsys.StartAuditd(t)
	vm := uniqueName(t, "nocontrol")
	runChild(t, "TestKernelWithoutCapAuditControl", "audit_control", "VAH_TEST_VM="+vm)
	out := a.WaitSearch(t, count(1), "-m", "USER_AVC", "-w", "--vm-name", vm)
	if !strings.Contains(out, "res=success") {
		t.Errorf("record of the child:\n%s", out)
	}
}

func noControlChild(t *testing.T) {
	w, err := Open(Config{Level: Required})
	if err != nil {
		t.Fatalf("Open at level 2 without CAP_AUDIT_CONTROL: %v", err)
	}
	defer w.Close()
	r := webRecord()
	r.VMName = os.Getenv("VAH_TEST_VM")
	if err := w.Write(context.Background(), r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if st := w.Stats(); st.Status.Known || st.Sent != 1 {
		t.Fatalf("stats %+v, want the status unknown and the record sent", st)
	}
}

func noCapChild(t *testing.T) {
	if ok, err := canWrite(); err != nil || ok {
		t.Fatalf("child still has CAP_AUDIT_WRITE (%v)", err)
	}
	_, err := Open(Config{Level: Required})
	var aerr *Error
	if !errors.As(err, &aerr) || aerr.Cause != Refused {
		t.Fatalf("Open at level 2 = %v, want a Refused *Error", err)
	}
	t.Logf("level 2 refuses: %v", err)

	w, err := Open(Config{Level: Auto})
	if err != nil {
		t.Fatalf("Open at level 1: %v", err)
	}
	for i := 0; i < 5; i++ {
		if err := w.Write(context.Background(), webRecord()); err != nil {
			t.Fatalf("Write at level 1: %v", err)
		}
	}
	w.Close()
	st := w.Stats()
	t.Logf("level 1 carries on: stats %+v", st)
	if st.Sent != 0 || st.Lost[Refused] != 5 {
		t.Fatalf("stats %+v, want 5 records lost as refused", st)
	}

	// The kernel itself refuses, too: the capability check is not a guess.
	// It answers each record of a batch.
	text := Format(webRecord())
	errs := dialKernel(t).sendType(RecordType, []string{text, text, text})
	if len(errs) != 3 {
		t.Fatalf("%d answers to 3 records", len(errs))
	}
	for i, err := range errs {
		if !errors.Is(err, syscall.EPERM) {
			t.Fatalf("kernel answered record %d with %v, want EPERM", i, err)
		}
	}
}

// TestKernelAuditorQuestions answers the common questions with the
// commands README.md's For auditors section gives (the time window aside), and logs their
// output, which that document shows.
func TestKernelAuditorQuestions(t *testing.T) {
	a := testsys.StartAuditd(t)
	alice, bob := newSubject(t, "alice"), newSubject(t, "bob")
	token := newUUID(t)[:6]
	web, webUUID := "web01-"+token, newUUID(t)
	db, dbUUID := "db01-"+token, newUUID(t)
	w := openKernel(t, Config{Level: Required})

	mustWrite(t, w, alice.domainRecord(true, "start", web, webUUID))
	graphics := alice.domainRecord(true, "open_graphics", web, webUUID)
	graphics.Cached = true
	mustWrite(t, w, graphics)
	mustWrite(t, w, bob.domainRecord(false, "stop", web, webUUID))
	network := Record{Granted: true, Permission: "getattr", ActionID: "org.libvirt.api.network.getattr",
		ObjectType: "network", Details: []Detail{{"connect_driver", "network"}, {"network_name", "default"},
			{"network_uuid", newUUID(t)}},
		PID: int(bob.proc.PID), UID: bob.user.UID, AUID: bob.auid, Session: bob.ses, Exe: bob.exe, Driver: "none,polkit"}
	mustWrite(t, w, network)
	unavailable := bob.domainRecord(false, "start", db, dbUUID)
	unavailable.Reason = "unavailable"
	mustWrite(t, w, unavailable)
	// auditd logs records in order: once the last is there, all are.
	a.WaitSearch(t, count(1), "-m", "USER_AVC", "--uuid", dbUUID)

	show := func(cmd, out string, want int) {
		t.Helper()
		t.Logf("$ %s\n%s", cmd, out)
		if want >= 0 && events(out) != want {
			t.Errorf("%s: %d records, want %d", cmd, events(out), want)
		}
	}
	show("ausearch -m USER_AVC --success no -ts today -i",
		a.Search(t, "-m", "USER_AVC", "--success", "no", "-i"), 2)
	show(fmt.Sprintf("ausearch -m USER_AVC -ua %d -ts today -i", bob.user.UID),
		a.Search(t, "-m", "USER_AVC", "-ua", strconv.Itoa(int(bob.user.UID)), "-i"), 3)
	show(fmt.Sprintf(`ausearch -m USER_AVC -ts today --raw | sed 's/\x1d.*//' | ausearch -i -ua %s`, bob.user.Name),
		a.SearchUnenriched(t, "-i", "-ua", bob.user.Name), 3)
	show("ausearch -m USER_AVC -w --vm-name "+web+" -ts today -i",
		a.Search(t, "-m", "USER_AVC", "-w", "--vm-name", web, "-i"), 3)
	show("ausearch -m USER_AVC --uuid "+dbUUID+" -ts today -i",
		a.Search(t, "-m", "USER_AVC", "--uuid", dbUUID, "-i"), 1)
	for _, report := range [][]string{{"--avc", "-i"}, {"-x", "--summary", "-i"}, {"--failed", "-e", "-i"}, {"--summary", "-i"}} {
		out := a.ReportSearch(t, []string{"-m", "USER_AVC"}, report...)
		show("ausearch -m USER_AVC -ts today --raw | aureport "+strings.Join(report, " "), out, -1)
		if strings.Contains(out, "<no events of interest") {
			t.Errorf("aureport %s found nothing", strings.Join(report, " "))
		}
	}
}
