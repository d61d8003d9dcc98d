// SPDX-License-Identifier: Apache-2.0

package frame

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/internal/xdrgen"
)

// TestMatchesVirnetprotocol checks this package's hand-written constants
// and structures against libvirt's src/rpc/virnetprotocol.x and
// virkeepaliveprotocol.x (fetched by tests/libvirt-source.sh).
func TestMatchesVirnetprotocol(t *testing.T) {
	src := testsys.LibvirtSource(t, xdrgen.LibvirtVersion)
	c, err := xdrgen.LoadHeaders(filepath.Join(src, "include", "libvirt"))
	if err != nil {
		t.Fatal(err)
	}
	spec := xdrgen.NewSpec(c)
	for _, name := range []string{"src/rpc/virnetprotocol.x", "src/rpc/virkeepaliveprotocol.x"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.AddFile(name, string(data), ""); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]int64{
		"VIR_NET_MESSAGE_MAX":         MaxMessage,
		"VIR_NET_MESSAGE_HEADER_MAX":  HeaderSize,
		"VIR_NET_MESSAGE_LEN_MAX":     LenSize,
		"VIR_NET_MESSAGE_NUM_FDS_MAX": MaxFDs,
		"VIR_NET_MESSAGE_STRING_MAX":  MaxString,
		"VIR_NET_CALL":                int64(Call),
		"VIR_NET_REPLY":               int64(Reply),
		"VIR_NET_MESSAGE":             int64(Event),
		"VIR_NET_STREAM":              int64(Stream),
		"VIR_NET_CALL_WITH_FDS":       int64(CallWithFDs),
		"VIR_NET_REPLY_WITH_FDS":      int64(ReplyWithFDs),
		"VIR_NET_STREAM_HOLE":         int64(StreamHole),
		"VIR_NET_OK":                  int64(OK),
		"VIR_NET_ERROR":               int64(Error),
		"VIR_NET_CONTINUE":            int64(Continue),
		"KEEPALIVE_PROGRAM":           KeepaliveProgram,
		"KEEPALIVE_PROTOCOL_VERSION":  KeepaliveVersion,
		"KEEPALIVE_PROC_PING":         KeepalivePing,
		"KEEPALIVE_PROC_PONG":         KeepalivePong,
		"VIR_ERR_ACCESS_DENIED":       ErrAccessDenied,
		"VIR_FROM_ACCESS":             FromAccess,
		"VIR_ERR_ERROR":               LevelError,
	} {
		got, err := spec.Value(xdrgen.Value{Name: name})
		if err != nil || got != want {
			t.Errorf("%s = %d, %v; this package has %d", name, got, err, want)
		}
	}
	fields := func(name string) []string {
		d, _ := spec.Lookup(name)
		st, ok := d.(*xdrgen.Struct)
		if !ok {
			t.Fatalf("%s is not a struct", name)
		}
		var out []string
		for _, f := range st.Fields {
			out = append(out, f.Type+" "+f.Name)
		}
		return out
	}
	if got, want := fields("virNetMessageHeader"), []string{"unsigned int prog", "unsigned int vers", "int proc",
		"virNetMessageType type", "unsigned int serial", "virNetMessageStatus status"}; !reflect.DeepEqual(got, want) {
		t.Errorf("virNetMessageHeader: %v", got)
	}
	if got, want := fields("virNetMessageError"), []string{"int code", "int domain", "virNetMessageString message",
		"int level", "virNetMessageDomain dom", "virNetMessageString str1", "virNetMessageString str2",
		"virNetMessageString str3", "int int1", "int int2", "virNetMessageNetwork net"}; !reflect.DeepEqual(got, want) {
		t.Errorf("virNetMessageError: %v", got)
	}
}
