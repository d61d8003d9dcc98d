// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// filterRule lets two restricted users see (getattr, read) only their own
// VM, by UUID and name, and nothing else of the domains (libvirt's own
// action defaults would let anyone look); the admin may do anything.
const filterRule = `polkit.addRule(function(action, subject) {
    var own = {};
    own[%q] = [%q, %q];
    own[%q] = [%q, %q];
    if (subject.user == %q && action.id.indexOf("org.libvirt.api.") == 0) {
        return polkit.Result.YES;
    }
    if (!(subject.user in own)) {
        return polkit.Result.NOT_HANDLED;
    }
    if (["getattr", "read", "search-domains"].indexOf(action.id.substring("org.libvirt.api.connect.".length)) >= 0 &&
        action.id.indexOf("org.libvirt.api.connect.") == 0) {
        return polkit.Result.YES;
    }
    var prefix = "org.libvirt.api.domain.";
    if (action.id.indexOf(prefix) != 0) {
        return polkit.Result.NOT_HANDLED;
    }
    var vm = own[subject.user];
    var op = action.id.substring(prefix.length);
    if (action.lookup("domain_uuid") == vm[0] && action.lookup("domain_name") == vm[1] &&
        ["getattr", "read", "read-secure", "start", "stop", "open-device"].indexOf(op) >= 0) {
        return polkit.Result.YES;
    }
    return polkit.Result.NO;
});`

// filterWorld is the guard world with the filter rule and an admin.
type filterWorld struct {
	*guardWorld
	admin testsys.User
}

func newFilterWorld(t *testing.T) *filterWorld {
	w := &filterWorld{guardWorld: newGuardWorld(t)}
	w.admin = testsys.AddUser(t, "guardadm")
	w.pk.AddRule(t, "guard-filter", fmt.Sprintf(filterRule, w.a.Name, w.uuidA, w.vmA,
		w.b.Name, w.uuidB, w.vmB, w.admin.Name))
	return w
}

// ours keeps the names of this test's VMs (the admin sees every VM on
// the host).
func (w *filterWorld) ours(names []string) []string {
	var out []string
	for _, n := range names {
		if n == w.vmA || n == w.vmB {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func (w *filterWorld) virshLines(t *testing.T, u testsys.User, args ...string) []string {
	t.Helper()
	out, err := w.virsh(u, args...)
	if err != nil {
		t.Fatalf("virsh %s as %s: %v\n%s", strings.Join(args, " "), u.Name, err, out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

var domstatsDomain = regexp.MustCompile(`(?m)^Domain: '([^']+)'`)

// TestGuardFilters runs real virsh as two restricted users and an admin
// through the guard: each sees exactly their own VMs in list --all,
// list, domstats, the old list and count calls, and the event stream.
func TestGuardFilters(t *testing.T) {
	w := newFilterWorld(t)
	users := []struct {
		name string
		u    testsys.User
		own  []string
	}{
		{"user A", w.a, []string{w.vmA}},
		{"user B", w.b, []string{w.vmB}},
		{"admin", w.admin, w.ours([]string{w.vmA, w.vmB})},
	}
	t.Run("events", func(t *testing.T) {
		outs := make([]chan string, len(users))
		for i, u := range users {
			outs[i] = make(chan string, 1)
			go func() { outs[i] <- virshEvents(w.uri, u.u, 15) }()
		}
		time.Sleep(3 * time.Second) // the clients register
		for _, op := range []string{"start", "destroy"} {
			for _, vm := range []string{w.vmA, w.vmB} {
				if out, err := w.lv.Virsh(nil, op, vm); err != nil {
					t.Fatalf("%s %s as root: %v\n%s", op, vm, err, out)
				}
			}
		}
		for i, u := range users {
			out := <-outs[i]
			var saw []string
			for _, vm := range []string{w.vmA, w.vmB} {
				if strings.Contains(out, fmt.Sprintf("for domain '%s': Started", vm)) {
					saw = append(saw, vm)
				}
			}
			if !slices.Equal(saw, u.own) || !strings.Contains(out, "Stopped") {
				t.Errorf("%s saw start events of %v, want %v and stops:\n%s", u.name, saw, u.own, out)
			}
			if other := otherVM(w.guardWorld, u.own); other != "" && strings.Contains(out, other) {
				t.Errorf("%s saw events of %s:\n%s", u.name, other, out)
			}
		}
	})
	t.Run("list --all and domstats", func(t *testing.T) {
		for _, u := range users {
			all := w.virshLines(t, u.u, "list", "--all", "--name")
			stats, err := w.virsh(u.u, "domstats", "--state")
			if err != nil {
				t.Fatalf("domstats as %s: %v\n%s", u.name, err, stats)
			}
			var statNames []string
			for _, m := range domstatsDomain.FindAllStringSubmatch(stats, -1) {
				statNames = append(statNames, m[1])
			}
			if u.name == "admin" {
				all, statNames = w.ours(all), w.ours(statNames)
			}
			if !slices.Equal(all, u.own) || !slices.Equal(statNames, u.own) {
				t.Errorf("%s: list --all %v, domstats %v; want %v", u.name, all, statNames, u.own)
			}
		}
	})
	t.Run("list and the old calls, vmB running", func(t *testing.T) {
		if out, err := w.lv.Virsh(nil, "start", w.vmB); err != nil {
			t.Fatalf("start vmB: %v\n%s", err, out)
		}
		defer w.lv.Virsh(nil, "destroy", w.vmB)
		idOut, err := w.lv.Virsh(nil, "domid", w.vmB)
		if err != nil {
			t.Fatalf("domid: %v\n%s", err, idOut)
		}
		idB := strings.TrimSpace(idOut)
		want := map[string][2]string{
			"user A": {fmt.Sprintf("active n=0 ids=[]\ndefined n=1 names=[%s]", w.vmA), ""},
			"user B": {fmt.Sprintf("active n=1 ids=[%s]\ndefined n=0 names=[]", idB), w.vmB},
		}
		for _, u := range users[:2] {
			running := strings.Join(w.virshLines(t, u.u, "list", "--name"), " ")
			if running != want[u.name][1] {
				t.Errorf("%s: list --name = %q, want %q", u.name, running, want[u.name][1])
			}
			out := testsys.RunTestAs(t, u.u, "TestGuardFilterRawClient", map[string]string{"VAH_GUARD_SOCK": w.sock})
			if !strings.Contains(out, want[u.name][0]) {
				t.Errorf("%s: old calls:\n%s\nwant %q", u.name, out, want[u.name][0])
			}
		}
	})
}

// otherVM is the test VM a restricted user owning own must never see,
// or "" for the admin.
func otherVM(w *guardWorld, own []string) string {
	switch {
	case len(own) != 1:
		return ""
	case own[0] == w.vmA:
		return w.vmB
	}
	return w.vmA
}

// virshEvents runs "virsh event --all --loop" as u for seconds and
// returns what it printed.
func virshEvents(uri string, u testsys.User, seconds int) string {
	return virshEventLoop(uri, u, seconds, "event", "--all")
}

// TestGuardFilterRawClient is TestGuardFilters' client of the old list
// and count calls (virsh uses ConnectListAllDomains), run as a user.
func TestGuardFilterRawClient(t *testing.T) {
	rc := dialChild(t, "VAH_GUARD_SOCK", "TestGuardFilters")
	if rc == nil {
		return
	}
	defer rc.c.Close()
	must := func(num proto.RemoteProcedure, args proto.Message) proto.Message {
		m, err := rc.call(num, args)
		if err == nil && m.Header.Status != frame.OK {
			eb, _ := frame.ParseError(m.Body)
			err = eb
		}
		if err != nil {
			t.Fatalf("%d: %v", num, err)
		}
		table, _ := proto.NewTable()
		p, _ := table.Lookup(proto.Remote, int32(num))
		ret, err := p.DecodeRet(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		return ret
	}
	uri := "qemu:///system"
	must(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri})
	n := must(proto.RemoteProcConnectNumOfDomains, &proto.Void{}).(*proto.RemoteConnectNumOfDomainsRet)
	ids := must(proto.RemoteProcConnectListDomains, &proto.RemoteConnectListDomainsArgs{Maxids: proto.RemoteDomainListMax}).(*proto.RemoteConnectListDomainsRet)
	fmt.Printf("active n=%d ids=%v\n", n.Num, ids.IDs)
	nd := must(proto.RemoteProcConnectNumOfDefinedDomains, &proto.Void{}).(*proto.RemoteConnectNumOfDefinedDomainsRet)
	names := must(proto.RemoteProcConnectListDefinedDomains, &proto.RemoteConnectListDefinedDomainsArgs{Maxnames: proto.RemoteDomainListMax}).(*proto.RemoteConnectListDefinedDomainsRet)
	fmt.Printf("defined n=%d names=%v\n", nd.Num, names.Names)
}
