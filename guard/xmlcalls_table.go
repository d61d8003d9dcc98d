// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// xmlCalls returns the table of the calls the content policy gates,
// built once per Server.
func xmlCalls() map[procKey]xmlCall {
	m := map[procKey]xmlCall{}
	for k, c := range domainXMLCalls() {
		m[k] = c
	}
	for k, c := range pathCalls() {
		m[k] = c
	}
	for k, c := range otherXMLCalls() {
		m[k] = c
	}
	return m
}

// domainXMLCalls carry a domain, or a piece of one, that libvirt parses.
func domainXMLCalls() map[procKey]xmlCall {
	dom, dev := xmlpolicy.Domain, xmlpolicy.Device
	return map[procKey]xmlCall{
		remote(proto.RemoteProcDomainDefineXML): {defines: true,
			docs: one(dom, "xml", func(a *proto.RemoteDomainDefineXMLArgs) string { return a.XML })},
		remote(proto.RemoteProcDomainDefineXMLFlags): {defines: true,
			docs: one(dom, "xml", func(a *proto.RemoteDomainDefineXMLFlagsArgs) string { return a.XML })},
		remote(proto.RemoteProcDomainCreateXML): {defines: true,
			docs: one(dom, "xml_desc", func(a *proto.RemoteDomainCreateXMLArgs) string { return a.XMLDesc })},
		// XML-POLICY item 9: the descriptors are handed to the guest's
		// init (LXC); nothing a user needs, refused with its XML.
		remote(proto.RemoteProcDomainCreateXMLWithFiles): {refuse: func(proto.Message) (string, string) {
			return ruleWithFiles, "creating a domain with file descriptors is for admins"
		}},
		remote(proto.RemoteProcDomainAttachDevice): {
			docs: one(dev, "xml", func(a *proto.RemoteDomainAttachDeviceArgs) string { return a.XML })},
		remote(proto.RemoteProcDomainAttachDeviceFlags): {
			docs: one(dev, "xml", func(a *proto.RemoteDomainAttachDeviceFlagsArgs) string { return a.XML })},
		remote(proto.RemoteProcDomainUpdateDeviceFlags): {
			docs: one(dev, "xml", func(a *proto.RemoteDomainUpdateDeviceFlagsArgs) string { return a.XML })},
		// libvirt parses a detached device fully (virDomainDeviceDefParse)
		// before matching it: the same parser, the same policy.
		remote(proto.RemoteProcDomainDetachDevice): {detaches: true,
			docs: one(dev, "xml", func(a *proto.RemoteDomainDetachDeviceArgs) string { return a.XML })},
		remote(proto.RemoteProcDomainDetachDeviceFlags): {detaches: true,
			docs: one(dev, "xml", func(a *proto.RemoteDomainDetachDeviceFlagsArgs) string { return a.XML })},
		// REDEFINE takes a snapshot's saved <domain> as given: a whole
		// definition behind domain:snapshot alone. Refused, not checked:
		// no user needs to rewrite a snapshot's history.
		remote(proto.RemoteProcDomainSnapshotCreateXML): {
			refuse: flagged(snapshotRedefine, func(a *proto.RemoteDomainSnapshotCreateXMLArgs) uint32 { return a.Flags },
				ruleRedefine, "redefining a snapshot (VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE) embeds a whole domain; it is for admins"),
			docs: one(xmlpolicy.Snapshot, "xml_desc", func(a *proto.RemoteDomainSnapshotCreateXMLArgs) string { return a.XMLDesc })},
		remote(proto.RemoteProcDomainCheckpointCreateXML): {
			refuse: flagged(checkpointRedefine, func(a *proto.RemoteDomainCheckpointCreateXMLArgs) uint32 { return a.Flags },
				ruleRedefine, "redefining a checkpoint (VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE) embeds a whole domain; it is for admins"),
			docs: one(xmlpolicy.Checkpoint, "xml_desc", func(a *proto.RemoteDomainCheckpointCreateXMLArgs) string { return a.XMLDesc })},
		remote(proto.RemoteProcDomainBlockCopy): {
			docs: one(xmlpolicy.BlockCopyDest, "destxml", func(a *proto.RemoteDomainBlockCopyArgs) string { return a.Destxml })},
		remote(proto.RemoteProcDomainBackupBegin): {docs: backupDocs},
		remote(proto.RemoteProcDomainManagedSaveDefineXML): {
			docs: optional(dom, "dxml", func(a *proto.RemoteDomainManagedSaveDefineXMLArgs) *string { return a.Dxml })},
	}
}

func backupDocs(m proto.Message) ([]xmlDoc, error) {
	a := m.(*proto.RemoteDomainBackupBeginArgs)
	docs := []xmlDoc{{xmlpolicy.Backup, "backup_xml", a.BackupXML}}
	if a.CheckpointXML != nil {
		docs = append(docs, xmlDoc{xmlpolicy.Checkpoint, "checkpoint_xml", *a.CheckpointXML})
	}
	return docs, nil
}

// pathCalls name a host path that libvirtd opens, creates or truncates
// as root; some carry a domain XML as well, checked when paths are
// allowed. Migration is here too: its XML is a whole domain.
func pathCalls() map[procKey]xmlCall {
	dom := xmlpolicy.Domain
	savePath, saveDocs := saveParams(func(a *proto.RemoteDomainSaveParamsArgs) []proto.RemoteTypedParam { return a.Params })
	restorePath, restoreDocs := saveParams(func(a *proto.RemoteDomainRestoreParamsArgs) []proto.RemoteTypedParam { return a.Params })
	return map[procKey]xmlCall{
		remote(proto.RemoteProcDomainSave):                {hostPath: always("to")},
		remote(proto.RemoteProcDomainSaveFlags):           {hostPath: always("to"), docs: optional(dom, "dxml", func(a *proto.RemoteDomainSaveFlagsArgs) *string { return a.Dxml })},
		remote(proto.RemoteProcDomainSaveParams):          {hostPath: savePath, docs: saveDocs}, // without "file": a managed save
		remote(proto.RemoteProcDomainRestore):             {hostPath: always("from")},
		remote(proto.RemoteProcDomainRestoreFlags):        {hostPath: always("from"), docs: optional(dom, "dxml", func(a *proto.RemoteDomainRestoreFlagsArgs) *string { return a.Dxml })},
		remote(proto.RemoteProcDomainRestoreParams):       {hostPath: restorePath, docs: restoreDocs},
		remote(proto.RemoteProcDomainSaveImageGetXMLDesc): {hostPath: always("file")},
		remote(proto.RemoteProcDomainSaveImageDefineXML):  {hostPath: always("file"), docs: one(dom, "dxml", func(a *proto.RemoteDomainSaveImageDefineXMLArgs) string { return a.Dxml })},
		remote(proto.RemoteProcDomainCoreDump):            {hostPath: always("to")},
		remote(proto.RemoteProcDomainCoreDumpWithFormat):  {hostPath: always("to")},
		// With COPY, base is the file the copy is written to; without
		// it, base names an image of the disk's own chain.
		remote(proto.RemoteProcDomainBlockRebase): {hostPath: func(m proto.Message) string {
			if a := m.(*proto.RemoteDomainBlockRebaseArgs); a.Flags&blockRebaseCopy != 0 && a.Base != nil {
				return "base"
			}
			return ""
		}},
		// XMLToNative and FromNative read the host's files for the
		// native format (LSN-2013-0015); both need connect:write, which
		// makes their callers admins, so this entry is a second lock.
		remote(proto.RemoteProcConnectDomainXMLToNative):   {hostPath: always("domain_xml")},
		remote(proto.RemoteProcConnectDomainXMLFromNative): {hostPath: always("native_config")},

		remote(proto.RemoteProcDomainMigratePrepare2):             {docs: one(dom, "dom_xml", func(a *proto.RemoteDomainMigratePrepare2Args) string { return a.DomXML })},
		remote(proto.RemoteProcDomainMigratePrepareTunnel):        {docs: one(dom, "dom_xml", func(a *proto.RemoteDomainMigratePrepareTunnelArgs) string { return a.DomXML })},
		remote(proto.RemoteProcDomainMigrateBegin3):               {docs: optional(dom, "xmlin", func(a *proto.RemoteDomainMigrateBegin3Args) *string { return a.Xmlin })},
		remote(proto.RemoteProcDomainMigratePrepare3):             {docs: one(dom, "dom_xml", func(a *proto.RemoteDomainMigratePrepare3Args) string { return a.DomXML })},
		remote(proto.RemoteProcDomainMigratePrepareTunnel3):       {docs: one(dom, "dom_xml", func(a *proto.RemoteDomainMigratePrepareTunnel3Args) string { return a.DomXML })},
		remote(proto.RemoteProcDomainMigratePerform3):             {docs: optional(dom, "xmlin", func(a *proto.RemoteDomainMigratePerform3Args) *string { return a.Xmlin })},
		remote(proto.RemoteProcDomainMigrateBegin3Params):         {docs: migrateParams(func(a *proto.RemoteDomainMigrateBegin3ParamsArgs) []proto.RemoteTypedParam { return a.Params })},
		remote(proto.RemoteProcDomainMigratePrepare3Params):       {docs: migrateParams(func(a *proto.RemoteDomainMigratePrepare3ParamsArgs) []proto.RemoteTypedParam { return a.Params })},
		remote(proto.RemoteProcDomainMigratePrepareTunnel3Params): {docs: migrateParams(func(a *proto.RemoteDomainMigratePrepareTunnel3ParamsArgs) []proto.RemoteTypedParam { return a.Params })},
		remote(proto.RemoteProcDomainMigratePerform3Params):       {docs: migrateParams(func(a *proto.RemoteDomainMigratePerform3ParamsArgs) []proto.RemoteTypedParam { return a.Params })},
		remote(proto.RemoteProcDomainMigrateFinish3Params):        {docs: migrateParams(func(a *proto.RemoteDomainMigrateFinish3ParamsArgs) []proto.RemoteTypedParam { return a.Params })},
		remote(proto.RemoteProcDomainMigrateConfirm3Params):       {docs: migrateParams(func(a *proto.RemoteDomainMigrateConfirm3ParamsArgs) []proto.RemoteTypedParam { return a.Params })},
	}
}

// otherXMLCalls carry XML that is no domain: host-level objects, whose
// authors control the host whatever the domain policy says, and XML that
// gives nothing of the host.
func otherXMLCalls() map[procKey]xmlCall {
	return map[procKey]xmlCall{
		remote(proto.RemoteProcStoragePoolDefineXML):     hostObject("a storage pool's XML names host directories and devices; defining one is for admins"),
		remote(proto.RemoteProcStoragePoolCreateXML):     hostObject("a storage pool's XML names host directories and devices; creating one is for admins"),
		remote(proto.RemoteProcStorageVolCreateXML):      hostObject("a volume's XML may name a host file as its backing store, read as root; creating one is for admins"),
		remote(proto.RemoteProcStorageVolCreateXMLFrom):  hostObject("a volume's XML may name a host file as its backing store, read as root; creating one is for admins"),
		remote(proto.RemoteProcNetworkDefineXML):         hostObject("a network's XML configures host interfaces and dnsmasq (dnsmasq:options); defining one is for admins"),
		remote(proto.RemoteProcNetworkDefineXMLFlags):    hostObject("a network's XML configures host interfaces and dnsmasq (dnsmasq:options); defining one is for admins"),
		remote(proto.RemoteProcNetworkCreateXML):         hostObject("a network's XML configures host interfaces and dnsmasq (dnsmasq:options); creating one is for admins"),
		remote(proto.RemoteProcNetworkCreateXMLFlags):    hostObject("a network's XML configures host interfaces and dnsmasq (dnsmasq:options); creating one is for admins"),
		remote(proto.RemoteProcNetworkUpdate):            hostObject("updating a network changes the host's network for every guest on it; it is for admins"),
		remote(proto.RemoteProcNetworkPortCreateXML):     hostObject("a network port's XML may plug a host device (hostdev-pci, direct); creating one is for admins"),
		remote(proto.RemoteProcNwfilterDefineXML):        hostObject("a network filter applies to every guest that names it; defining one is for admins"),
		remote(proto.RemoteProcNwfilterDefineXMLFlags):   hostObject("a network filter applies to every guest that names it; defining one is for admins"),
		remote(proto.RemoteProcNwfilterBindingCreateXML): hostObject("a filter binding names a host interface; creating one is for admins"),
		remote(proto.RemoteProcInterfaceDefineXML):       hostObject("a host interface's XML configures the host's network; defining one is for admins"),
		remote(proto.RemoteProcNodeDeviceCreateXML):      hostObject("a node device's XML creates host devices (mediated devices); creating one is for admins"),
		remote(proto.RemoteProcNodeDeviceDefineXML):      hostObject("a node device's XML defines host devices (mediated devices); defining one is for admins"),

		remote(proto.RemoteProcSecretDefineXML):              harmless("a secret's XML holds its usage and flags; the value is set apart, under secret:write"),
		remote(proto.RemoteProcConnectCompareCPU):            harmless("a CPU description is compared with the host's, nothing more"),
		remote(proto.RemoteProcConnectBaselineCPU):           harmless("CPU descriptions are combined into one, nothing more"),
		remote(proto.RemoteProcConnectCompareHypervisorCPU):  harmless("a CPU description is compared with the hypervisor's, nothing more"),
		remote(proto.RemoteProcConnectBaselineHypervisorCPU): harmless("CPU descriptions are combined into one, nothing more"),
	}
}
