// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// callbacksCap is the guard_max_event_callbacks TestGuardEventCallbacks
// runs its guard with.
const callbacksCap = 3

// TestGuardEventCallbacks: a client holds at most guard_max_event_callbacks
// event callbacks on its connection. Through a guard with a cap of 3,
// auditing to the real kernel and auditd, before real libvirtd:
//   - a restricted user's raw client (TestGuardEventCallbacksClient)
//     registers lifecycle events; registering them again is refused by
//     libvirtd itself ("event callback already tracked": libvirtd sends
//     an event once per callback, and refuses a second one alike, so
//     the place is given back), and so are registrations of an event ID
//     libvirtd does not have, one more than the cap of them; two more
//     registrations fill the cap, the next is refused by the guard with
//     "resource busy" naming the setting, and audited (reason=refused,
//     the procedure); a deregistration of a callback ID libvirtd does
//     not know fails and frees no place (the next registration is
//     refused still); once one is deregistered, a registration passes
//     again;
//   - the admin's raw client registers QEMU monitor events by name, which
//     libvirtd never finds alike: the guard refuses the fourth;
//   - the same user's real virsh event --all (27 event types, one
//     registration each) gets the first three and, as virsh does when a
//     later registration fails, ignores the rest: it still shows the
//     lifecycle events of the user's VM.
func TestGuardEventCallbacks(t *testing.T) {
	ad, w, uri := newAuditedFilterWorldWith(t, auditedWorld{maxEventCallbacks: callbacksCap})
	sock := strings.TrimPrefix(uri, "qemu:///system?socket=")
	out := testsys.RunTestAs(t, w.a, "TestGuardEventCallbacksClient", map[string]string{"VAH_GUARD_SOCK": sock})
	busy := fmt.Sprintf("error 87 resource busy: virt-acl-helper guard: too many event callbacks on this connection (guard_max_event_callbacks %d)", callbacksCap)
	for _, want := range []string{
		"lifecycle: ok\n",
		"lifecycle again: error ", "event callback already tracked",
		"reboot: ok\n",
		"rtc-change: ok\n",
		"watchdog: " + busy,
		"watchdog after the failed deregistration: " + busy,
		"deregister lifecycle: ok\n",
		"watchdog after the deregistration: ok\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the raw client's registrations lack %q:\n%s", want, out)
		}
	}
	// libvirtd's own refusals, not the guard's: each gave its place back
	// (reboot and rtc-change passed after them), or freed none (the
	// watchdog still refused after the failed deregistration).
	for _, name := range []string{"unsupported event 1", fmt.Sprintf("unsupported event %d", callbacksCap+1), "deregister an unknown callback"} {
		if l := linesWith(out, name+": "); len(l) != 1 || !strings.HasPrefix(strings.TrimPrefix(l[0], name+": "), "error ") || strings.Contains(l[0], "error 87 ") {
			t.Errorf("%s: want libvirtd's error:\n%s", name, out)
		}
	}

	t.Logf("the raw client as %s:\n%s", w.a.Name, out)
	// QEMU monitor events (connect:write: the admin), filtered by name:
	// libvirtd takes every registration, the guard no more than the cap.
	out = testsys.RunTestAs(t, w.admin, "TestGuardEventCallbacksClient",
		map[string]string{"VAH_GUARD_SOCK": sock, "VAH_QEMU_EVENTS": "1"})
	for i := range callbacksCap {
		if want := fmt.Sprintf("monitor event %d: ok\n", i+1); !strings.Contains(out, want) {
			t.Errorf("the admin's monitor event registrations lack %q:\n%s", want, out)
		}
	}
	if want := fmt.Sprintf("monitor event %d: error 87 resource busy", callbacksCap+1); !strings.Contains(out, want) {
		t.Errorf("the admin's monitor event registrations lack %q:\n%s", want, out)
	}

	if out := watchRedefined(t, w, uri, 8, 1, []string{w.vmA}, "event", "--all"); !strings.Contains(out, fmt.Sprintf("event 'lifecycle' for domain '%s': Defined", w.vmA)) {
		t.Errorf("virsh event --all as A: want the lifecycle event of %s:\n%s", w.vmA, out)
	}

	uid := fmt.Sprint(w.a.UID)
	refused := ad.WaitSearch(t, func(out string) bool { return strings.Contains(out, "reason=refused") },
		"-m", "USER_AVC", "--success", "no", "-ua", uid)
	if !strings.Contains(refused, "operation=REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY") ||
		!strings.Contains(refused, "decision=denied reason=refused") {
		t.Errorf("no record of a refused registration:\n%s", refused)
	}
}

// TestGuardEventCallbacksClient is TestGuardEventCallbacks' raw client, run
// as the restricted user: it prints what each registration got.
func TestGuardEventCallbacksClient(t *testing.T) {
	rc := dialChild(t, "VAH_GUARD_SOCK", "TestGuardEventCallbacks")
	if rc == nil {
		return
	}
	defer rc.c.Close()
	uri := "qemu:///system"
	if _, err := rc.call(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri}); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("VAH_QEMU_EVENTS") != "" {
		registerMonitorEvents(t, rc)
		return
	}
	var lifecycle int32
	register := func(name string, id int32) {
		m, err := rc.call(proto.RemoteProcConnectDomainEventCallbackRegisterAny, &proto.RemoteConnectDomainEventCallbackRegisterAnyArgs{EventID: id})
		fmt.Printf("%s: %s\n", name, outcome(t, m, err))
		var ret proto.RemoteConnectDomainEventCallbackRegisterAnyRet
		if err == nil && m.Header.Status == frame.OK && id == 0 && proto.Unmarshal(m.Body, &ret) == nil {
			lifecycle = ret.CallbackID
		}
	}
	deregister := func(name string, id int32) {
		m, err := rc.call(proto.RemoteProcConnectDomainEventCallbackDeregisterAny, &proto.RemoteConnectDomainEventCallbackDeregisterAnyArgs{CallbackID: id})
		fmt.Printf("deregister %s: %s\n", name, outcome(t, m, err))
	}
	register("lifecycle", 0) // VIR_DOMAIN_EVENT_ID_LIFECYCLE
	register("lifecycle again", 0)
	for i := range callbacksCap + 1 {
		register(fmt.Sprintf("unsupported event %d", i+1), unsupportedEventID)
	}
	register("reboot", 1)     // VIR_DOMAIN_EVENT_ID_REBOOT
	register("rtc-change", 2) // VIR_DOMAIN_EVENT_ID_RTC_CHANGE
	register("watchdog", 3)   // VIR_DOMAIN_EVENT_ID_WATCHDOG
	deregister("an unknown callback", unknownCallbackID)
	register("watchdog after the failed deregistration", 3)
	deregister("lifecycle", lifecycle)
	register("watchdog after the deregistration", 3)
}

// unsupportedEventID is a domain event ID libvirt 9.0.0 does not have
// (its last, VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE, is 26), and
// unknownCallbackID a callback ID no connection of the test holds:
// libvirtd refuses a registration of the one and a deregistration of
// the other.
const unsupportedEventID, unknownCallbackID = 9999, 999999

// registerMonitorEvents registers QEMU monitor events named SHUTDOWN
// once more than the cap: each is a callback of its own to libvirtd
// (filtered by name, never alike), the last refused by the guard.
func registerMonitorEvents(t *testing.T, rc *rawClient) {
	event := "SHUTDOWN"
	for i := range callbacksCap + 1 {
		m, err := rc.callProg(proto.QEMU, int32(proto.QEMUProcConnectDomainMonitorEventRegister),
			&proto.QEMUConnectDomainMonitorEventRegisterArgs{Event: &event})
		fmt.Printf("monitor event %d: %s\n", i+1, outcome(t, m, err))
	}
}

// outcome says what a call got: ok, or error CODE MESSAGE.
func outcome(t *testing.T, m *frame.Message, err error) string {
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Status == frame.OK {
		return "ok"
	}
	eb, err := frame.ParseError(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("error %d %s", eb.Code, eb.Error())
}

// TestGuardQEMUMonitorEvents: QEMU monitor events pass the guard as
// libvirtd's other events do. The admin's real virsh qemu-monitor-event
// registers through the guard (QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER,
// an event registration: libvirt filters its events by domain:getattr)
// and sees the STOP and RESUME events of a guest root suspends and
// resumes; a restricted user, whom policy does not give connect:write,
// is refused the registration.
func TestGuardQEMUMonitorEvents(t *testing.T) {
	_, w, uri := newAuditedFilterWorld(t)
	if out, err := w.lv.Virsh(nil, "start", w.vmA); err != nil {
		t.Fatalf("start %s as root: %v\n%s", w.vmA, err, out)
	}
	t.Cleanup(func() { w.lv.Virsh(nil, "destroy", w.vmA) })
	seen := make(chan string, 1)
	go func() { seen <- virshEventLoop(uri, w.admin, 8, "qemu-monitor-event", "--domain", w.vmA) }()
	time.Sleep(3 * time.Second) // the client registers
	for _, op := range []string{"suspend", "resume"} {
		if out, err := w.lv.Virsh(nil, op, w.vmA); err != nil {
			t.Fatalf("%s %s as root: %v\n%s", op, w.vmA, err, out)
		}
	}
	out := <-seen
	for _, want := range []string{"event STOP", "event RESUME"} {
		if !strings.Contains(out, want) || !strings.Contains(out, w.vmA) {
			t.Errorf("the admin's qemu-monitor-event: want %s of %s:\n%s", want, w.vmA, out)
		}
	}
	if out := virshEventLoop(uri, w.a, 1, "qemu-monitor-event"); !strings.Contains(out, "access denied") {
		t.Errorf("A's qemu-monitor-event: want access denied:\n%s", out)
	}
}
