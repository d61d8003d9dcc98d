// SPDX-License-Identifier: Apache-2.0

package libvirtclient

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// TestDo answers one call the way libvirtd may: an event first, then the
// reply (successful or an error), and checks what Do makes of it.
func TestDo(t *testing.T) {
	state := &proto.RemoteDomainGetStateRet{State: 1, Reason: 2}
	tests := []struct {
		name     string
		ok       bool
		wantCode int32 // of the error reply; 0 for success
	}{
		{"reply after an event", true, 0},
		{"error reply", false, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := net.Pipe()
			defer cc.Close()
			defer sc.Close()
			go func() {
				call, err := frame.Read(sc)
				if err != nil {
					return
				}
				event := call.Header
				event.Type, event.Serial = frame.Event, 1
				frame.Write(sc, &frame.Message{Header: event})
				h := call.Header
				h.Type = frame.Reply
				if !tt.ok {
					r, _ := frame.ErrorReply(call.Header, &frame.ErrorBody{Code: 42, Domain: 10, Level: 2})
					frame.Write(sc, r)
					return
				}
				body, _ := proto.Marshal(state)
				frame.Write(sc, &frame.Message{Header: h, Body: body})
			}()
			c := &Client{Conn: cc, Timeout: 5 * time.Second}
			var got proto.RemoteDomainGetStateRet
			err := c.Do(proto.RemoteProcDomainGetState, &proto.RemoteDomainGetStateArgs{}, &got)
			var eb *frame.ErrorBody
			switch {
			case tt.wantCode == 0 && (err != nil || got != *state):
				t.Errorf("Do: %v, %+v; want %+v", err, got, *state)
			case tt.wantCode != 0 && (!errors.As(err, &eb) || eb.Code != tt.wantCode):
				t.Errorf("Do: %v, want error code %d", err, tt.wantCode)
			}
		})
	}
}
