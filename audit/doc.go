// SPDX-License-Identifier: Apache-2.0

// Package audit writes one Linux audit record per access decision, granted
// or denied, cached or not, so that auditors can answer "who was allowed or
// denied what, on which VM, when" with ausearch and aureport, and can trust
// that no record was dropped without being counted and logged.
//
// The package takes a plain Record; it knows nothing of sockets, command
// lines or how a decision was made.
//
// # Record type
//
// Records are AUDIT_USER_AVC (1107): the type that userspace object
// managers, dbus-daemon and systemd among them, use for their access
// decisions, which is what this helper makes. ausearch -m USER_AVC finds
// them, its user-record parser reads vm=, uuid=, the subject's uid= and
// res=, and aureport counts them in its AVC report. The kernel also keeps
// USER_AVC records when audit is disabled (for SELinux's sake); this
// package honours the host's choice and does not send them then.
//
// The text does not imitate SELinux's "avc:  denied  { perm }" form: these
// are not SELinux decisions, and SELinux tools (audit2allow, setroubleshoot)
// treat every USER_AVC in that form as one. VIRT_CONTROL (2500) was not
// chosen either: libvirt writes it when it acts on a VM, and a decision is
// not an action.
//
// # Format
//
// See Format for the fields and why they come in that order. A denial, as
// ausearch -i prints it from a log without auditd's enrichment (the kernel
// adds the first pid= uid= auid= ses=, which are the helper's own):
//
//	type=USER_AVC msg=audit(11/23/26 13:59:26.981:226023) : pid=3389
//	uid=root auid=unset ses=unset msg='decision=denied reason=policy
//	permission=stop action_id=org.libvirt.api.domain.stop tclass=domain
//	vm=web01-015422 pid=3425 uid=vah-bob-ac7f08 sauid=unset ses=unset
//	uuid=369a2142-ba23-4245-bffb-e7c915dab269 connect_driver="QEMU"
//	domain_name="web01-015422"
//	domain_uuid="369a2142-ba23-4245-bffb-e7c915dab269" driver=polkit
//	cached=no exe=/usr/bin/sleep hostname=? addr=? terminal=? res=failed'
//
// On an enriched log (auditd's default) ausearch -i names the subject's
// uid= after the helper's, an ausearch limitation; README.md's For auditors section shows
// the commands that work around it.
//
// # Levels
//
// Level mirrors libvirtd.conf's audit_level: Off writes nothing; Auto (the
// default) writes when the host's audit is usable and carries on without
// it, counting every record it could not write; Required refuses to Open
// when audit is unusable and makes Write fail, so the caller denies, until
// the kernel accepted the record. Config.Log is audit_logging: each
// decision also goes to the daemon's log.
//
// # Never silent, never stalled
//
// The kernel holds a sender for up to backlog_wait_time (60 s by default)
// when its backlog is over backlog_limit. One goroutine owns the netlink
// socket and takes records from a bounded queue, as many as wait (up to
// 64) in one write: the kernel handles each message of a write in turn
// before the write returns, and answers each one it refuses by its own
// sequence number, so every record's outcome is still known, and a held
// write holds a batch rather than one record. At level Required,
// concurrent callers share a write, each answered by its own record's
// outcome. At level Auto, Write only queues: a record that finds the
// queue full waits for room, in turn, while the writer is still taking
// and sending records, and is lost only once the writer has done neither
// for the stall bound (200 ms: the kernel holds it, or it gets no CPU),
// so decisions wait for a slow audit system but not a stuck one. Every lost record is counted by cause (Stats.Lost) and
// logged, at most once per 10 s per cause. The kernel's own lost counter,
// which rises when the kernel drops records it had accepted, is watched
// too (Stats.KernelLost), when the process may read the audit status.
package audit
