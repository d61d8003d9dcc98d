// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// openConsole opens vmA's console stream as an allowed client and reads
// libvirtd's first data; it returns the header of the client's packets.
func openConsole(t *testing.T) (*world, *client, frame.Header) {
	t.Helper()
	w := newWorld(t, Options{}, "domain:open_device a0000000-0000-0000-0000-00000000000a")
	c := w.dial(t)
	c.open()
	serial := c.sendArgs(proto.RemoteProcDomainOpenConsole, &proto.RemoteDomainOpenConsoleArgs{Dom: vmA})
	if code := errCode(t, c.reply(serial)); code != 0 {
		t.Fatalf("console of vmA: error %d", code)
	}
	if m := c.recv(); m.Header.Type != frame.Stream {
		t.Fatalf("stream data from libvirtd: %+v", m.Header)
	}
	return w, c, frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proto.RemoteProcDomainOpenConsole),
		Type: frame.Stream, Serial: serial, Status: frame.Continue}
}

// upstreamPackets returns the bodies of the stream packets of type typ
// the fake libvirtd got on its first connection.
func upstreamPackets(w *world, typ frame.Type) []string {
	var got []string
	for _, m := range w.up.calls(0) {
		if m.Header.Type == typ {
			got = append(got, string(m.Body))
		}
	}
	return got
}

// TestStreamHoleNotSparse: a STREAM_HOLE on a stream not opened sparse
// ends the client's session (as libvirtd does) and never reaches
// libvirtd; dropping it would silently shift the data after it.
func TestStreamHoleNotSparse(t *testing.T) {
	w, c, h := openConsole(t)
	h.Type = frame.StreamHole
	hole := binary.BigEndian.AppendUint64(nil, 1<<20) // virNetStreamHole: length, flags
	hole = binary.BigEndian.AppendUint32(hole, 0)
	if err := frame.Write(c.c, &frame.Message{Header: h, Body: hole}); err != nil {
		t.Fatal(err)
	}
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if m, err := frame.Read(c.c); !errors.Is(err, io.EOF) {
		t.Fatalf("after a hole on a console stream: got %+v, %v; want the connection closed", m, err)
	}
	if got := upstreamPackets(w, frame.StreamHole); len(got) != 0 {
		t.Errorf("libvirtd got %d STREAM_HOLE packets", len(got))
	}
}

// TestStreamFailedUpstream: once libvirtd reports a stream failed, the
// guard forgets the stream; the client's later packets on it go nowhere.
func TestStreamFailedUpstream(t *testing.T) {
	w, c, h := openConsole(t)
	if err := frame.Write(c.c, &frame.Message{Header: h, Body: []byte("fail")}); err != nil {
		t.Fatal(err)
	}
	if m := c.recv(); m.Header.Type != frame.Stream || m.Header.Status != frame.Error || m.Header.Serial != h.Serial {
		t.Fatalf("libvirtd's stream error: %+v", m.Header)
	}
	if err := frame.Write(c.c, &frame.Message{Header: h, Body: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	// A call after it: once libvirtd answers, it has what the guard sent
	// before.
	if code := errCode(t, c.reply(c.send(proto.Remote, int32(proto.RemoteProcConnectGetType), nil))); code != 0 {
		t.Fatalf("get type: error %d", code)
	}
	if got := upstreamPackets(w, frame.Stream); len(got) != 1 || got[0] != "fail" {
		t.Errorf("libvirtd got stream packets %q, want only \"fail\"", got)
	}
}

// TestStreamAbortFailed: libvirtd answers a failed abort (or finish, or
// hole) with an error reply carrying the stream's serial, after the
// opening call's serial was released; the guard passes it to the client,
// which waits for it.
func TestStreamAbortFailed(t *testing.T) {
	_, c, h := openConsole(t)
	h.Status = frame.Error
	if err := frame.Write(c.c, &frame.Message{Header: h}); err != nil {
		t.Fatal(err)
	}
	if m := c.recv(); m.Header.Type != frame.Reply || m.Header.Status != frame.Error || m.Header.Serial != h.Serial {
		t.Fatalf("after the abort: %+v, want libvirtd's error reply", m.Header)
	}
}
