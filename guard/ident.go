// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"os/user"
	"strconv"

	"github.com/virt-acl-helper/virt-acl-helper/identity"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// The identity keys of CONNECT_SET_IDENTITY (include/libvirt/libvirt-host.h
// VIR_CONNECT_IDENTITY_*).
const (
	identUserName    = "user-name"     // string
	identUnixUserID  = "unix-user-id"  // ullong
	identGroupName   = "group-name"    // string
	identUnixGroupID = "unix-group-id" // ullong
	identProcessID   = "process-id"    // llong
	identProcessTime = "process-time"  // ullong: field 22 of /proc/PID/stat
)

// identityParams is the client's identity as libvirtd would have taken it
// from the client's own connection (src/rpc/virnetserverclient.c
// virNetServerClientCreateIdentity), for CONNECT_SET_IDENTITY: names are
// left out when they cannot be resolved.
func identityParams(cred identity.Cred, p proc.Process) []proto.RemoteTypedParam {
	str := func(k, v string) proto.RemoteTypedParam {
		return proto.RemoteTypedParam{Field: k, Value: proto.RemoteTypedParamValue{Type: proto.VirTypedParamString, S: v}}
	}
	ull := func(k string, v uint64) proto.RemoteTypedParam {
		return proto.RemoteTypedParam{Field: k, Value: proto.RemoteTypedParamValue{Type: proto.VirTypedParamUllong, Ul: v}}
	}
	var ps []proto.RemoteTypedParam
	if u, err := user.LookupId(strconv.FormatUint(uint64(p.UID), 10)); err == nil {
		ps = append(ps, str(identUserName, u.Username))
	}
	ps = append(ps, ull(identUnixUserID, uint64(p.UID)))
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(cred.GID), 10)); err == nil {
		ps = append(ps, str(identGroupName, g.Name))
	}
	ps = append(ps, ull(identUnixGroupID, uint64(cred.GID)),
		proto.RemoteTypedParam{Field: identProcessID, Value: proto.RemoteTypedParamValue{Type: proto.VirTypedParamLlong, L: int64(p.PID)}},
		ull(identProcessTime, p.StartTime))
	return ps
}
