// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// procKey names a procedure of a program.
type procKey struct {
	prog proto.Program
	num  int32
}

func keyOf(p *proto.Procedure) procKey { return procKey{p.Program(), p.Number()} }

func remote(n proto.RemoteProcedure) procKey { return procKey{proto.Remote, int32(n)} }

// Lookups are checked on the object libvirtd returns (GUARD.md "Lookups";
// libvirt checks them inside the driver, on the object found).
var lookupProcs = map[procKey]bool{
	remote(proto.RemoteProcDomainLookupByID):               true,
	remote(proto.RemoteProcDomainLookupByName):             true,
	remote(proto.RemoteProcDomainLookupByUUID):             true,
	remote(proto.RemoteProcNetworkLookupByName):            true,
	remote(proto.RemoteProcNetworkLookupByUUID):            true,
	remote(proto.RemoteProcStoragePoolLookupByName):        true,
	remote(proto.RemoteProcStoragePoolLookupByUUID):        true,
	remote(proto.RemoteProcStoragePoolLookupByVolume):      true,
	remote(proto.RemoteProcStorageVolLookupByName):         true,
	remote(proto.RemoteProcStorageVolLookupByKey):          true,
	remote(proto.RemoteProcStorageVolLookupByPath):         true,
	remote(proto.RemoteProcNodeDeviceLookupByName):         true,
	remote(proto.RemoteProcInterfaceLookupByName):          true,
	remote(proto.RemoteProcInterfaceLookupByMACString):     true,
	remote(proto.RemoteProcSecretLookupByUUID):             true,
	remote(proto.RemoteProcSecretLookupByUsage):            true,
	remote(proto.RemoteProcNwfilterLookupByName):           true,
	remote(proto.RemoteProcNwfilterLookupByUUID):           true,
	remote(proto.RemoteProcNodeDeviceLookupScsiHostByWwn):  true,
	remote(proto.RemoteProcStoragePoolLookupByTargetPath):  true,
	remote(proto.RemoteProcNwfilterBindingLookupByPortDev): true,
	remote(proto.RemoteProcNetworkPortLookupByUUID):        true,
}

// Procedures whose calls may carry file descriptors, client to libvirtd
// (GUARD.md "FD passing"): libvirtd takes fds on any CALL_WITH_FDS.
var callFDProcs = map[procKey]bool{
	remote(proto.RemoteProcDomainOpenGraphics):       true, // 249
	remote(proto.RemoteProcDomainCreateXMLWithFiles): true, // 309
	remote(proto.RemoteProcDomainCreateWithFiles):    true, // 310
	remote(proto.RemoteProcDomainFDAssociate):        true, // 443
	{proto.QEMU, 7}: true, // QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES
}

// Procedures whose replies may carry file descriptors, libvirtd to client.
var replyFDProcs = map[procKey]bool{
	remote(proto.RemoteProcDomainOpenGraphicsFD): true, // 343
	{proto.LXC, 1}:  true, // LXC_PROC_DOMAIN_OPEN_NAMESPACE
	{proto.QEMU, 7}: true, // QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES
}

// QEMU monitor and agent commands need only domain:write in libvirt's
// model and are root-equivalent in practice (GUARD.md): denied unless
// Options.AllowQEMUCommands.
var qemuCommandProcs = map[procKey]bool{
	{proto.QEMU, 1}: true, // QEMU_PROC_DOMAIN_MONITOR_COMMAND
	{proto.QEMU, 3}: true, // QEMU_PROC_DOMAIN_AGENT_COMMAND
	{proto.QEMU, 7}: true, // QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES
}

// The authentication procedures other than AUTH_LIST: the guard
// authenticates its clients by their peer credentials and offers only
// AUTH_NONE.
var authProcs = map[procKey]bool{
	remote(proto.RemoteProcAuthSaslInit):  true,
	remote(proto.RemoteProcAuthSaslStart): true,
	remote(proto.RemoteProcAuthSaslStep):  true,
	remote(proto.RemoteProcAuthPolkit):    true,
}

// The procedures with "@acl: none" that clients call; the others without
// rules are events, which libvirtd sends and never takes as calls.
var uncheckedCalls = map[procKey]bool{
	remote(proto.RemoteProcConnectClose):    true,
	remote(proto.RemoteProcAuthList):        true,
	remote(proto.RemoteProcAuthSaslInit):    true,
	remote(proto.RemoteProcAuthSaslStart):   true,
	remote(proto.RemoteProcAuthSaslStep):    true,
	remote(proto.RemoteProcAuthPolkit):      true,
	remote(proto.RemoteProcConnectIsSecure): true,
}
