// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// TestGuardGraphicsFD: DOMAIN_OPEN_GRAPHICS_FD brings a descriptor from
// libvirtd through the guard to the client, which reads the VNC server's
// RFB banner from it; the owner of the VM gets it, another user is
// denied (88) and gets none.
func TestGuardGraphicsFD(t *testing.T) {
	w := newGuardWorld(t)
	if out, err := w.lv.Virsh(nil, "start", w.vmA); err != nil {
		t.Fatalf("start vmA: %v\n%s", err, out)
	}
	defer w.lv.Virsh(nil, "destroy", w.vmA)
	env := map[string]string{"VAH_GUARD_GFX_SOCK": w.sock, "VAH_GUARD_VMA": w.vmA, "VAH_GUARD_UUIDA": w.uuidA}
	for _, tt := range []struct {
		who  string
		out  string
		want string
	}{
		{"owner", testsys.RunTestAs(t, w.a, "TestGuardGraphicsClient", env), "graphics fd: RFB 003.008"},
		{"other user", testsys.RunTestAs(t, w.b, "TestGuardGraphicsClient", env), "graphics fd: error 88"},
	} {
		if !strings.Contains(tt.out, tt.want) {
			t.Errorf("%s: output lacks %q:\n%s", tt.who, tt.want, tt.out)
		}
	}
}

// TestGuardGraphicsClient is TestGuardGraphicsFD's client, run as a test
// user in a process of its own.
func TestGuardGraphicsClient(t *testing.T) {
	rc := dialChild(t, "VAH_GUARD_GFX_SOCK", "TestGuardGraphicsFD")
	if rc == nil {
		return
	}
	defer rc.c.Close()
	uri := "qemu:///system"
	if m, err := rc.call(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri}); err != nil || m.Header.Status != frame.OK {
		t.Fatalf("open: %v", err)
	}
	dom := proto.RemoteNonnullDomain{Name: os.Getenv("VAH_GUARD_VMA"), UUID: envUUID("VAH_GUARD_UUIDA"), ID: -1}
	m, err := rc.call(proto.RemoteProcDomainOpenGraphicsFD, &proto.RemoteDomainOpenGraphicsFDArgs{Dom: dom})
	switch {
	case err != nil:
		fmt.Printf("graphics fd: failed: %v\n", err)
	case m.Header.Status == frame.Error:
		eb, _ := frame.ParseError(m.Body)
		fmt.Printf("graphics fd: error %d (%v)\n", eb.Code, eb)
	case m.Header.Type != frame.ReplyWithFDs || m.NumFDs != 1:
		fmt.Printf("graphics fd: reply %s with %d fds\n", m.Header.Type, m.NumFDs)
	default:
		fmt.Printf("graphics fd: %s\n", readBanner(rc.c.(*net.UnixConn)))
	}
}

// readBanner receives the descriptor that follows a reply (one byte with
// SCM_RIGHTS, as libvirt's virSocketSendFD sends it) and reads the first
// line its peer writes.
func readBanner(c *net.UnixConn) string {
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		return fmt.Sprintf("receive fd: %v", err)
	}
	cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(cmsgs) != 1 {
		return fmt.Sprintf("control message: %v (%d)", err, len(cmsgs))
	}
	fds, err := unix.ParseUnixRights(&cmsgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Sprintf("rights: %v (%d fds)", err, len(fds))
	}
	// Non-blocking first, so that the read deadline works.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return fmt.Sprintf("set non-blocking: %v", err)
	}
	f := os.NewFile(uintptr(fds[0]), "graphics")
	defer f.Close()
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 12)
	n, err := f.Read(buf)
	if err != nil {
		return fmt.Sprintf("read banner: %v", err)
	}
	return strings.TrimSpace(string(buf[:n]))
}
