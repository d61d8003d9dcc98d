// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"reflect"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// paramsWithoutXML are the procedures with typed parameters none of
// which holds XML or a path in libvirt 9.0.0 (include/libvirt/*.h lists
// each call's parameter names).
var paramsWithoutXML = map[string]string{
	"REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS":       "scheduler tunables",
	"REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS": "scheduler tunables",
	"REMOTE_PROC_DOMAIN_SET_MEMORY_PARAMETERS":          "memory tunables",
	"REMOTE_PROC_DOMAIN_SET_BLKIO_PARAMETERS":           "blkio tunables; device_weight names the guest's own disks' host paths, which the domain's XML already fixed",
	"REMOTE_PROC_DOMAIN_SET_BLOCK_IO_TUNE":              "I/O throttling numbers and a group name",
	"REMOTE_PROC_DOMAIN_SET_NUMA_PARAMETERS":            "NUMA mode and nodeset",
	"REMOTE_PROC_DOMAIN_SET_INTERFACE_PARAMETERS":       "bandwidth numbers",
	"REMOTE_PROC_NODE_SET_MEMORY_PARAMETERS":            "host KSM tunables, behind connect:write",
	"REMOTE_PROC_DOMAIN_BLOCK_COPY":                     "bandwidth, granularity, buf-size (its XML is destxml)",
	"REMOTE_PROC_DOMAIN_SET_PERF_EVENTS":                "perf event switches",
	"REMOTE_PROC_DOMAIN_SET_IOTHREAD_PARAMS":            "iothread polling numbers",
	"REMOTE_PROC_NETWORK_PORT_SET_PARAMETERS":           "bandwidth numbers",
	"REMOTE_PROC_CONNECT_SET_IDENTITY":                  "refused from clients before any check (session.go)",
	"REMOTE_PROC_DOMAIN_SET_LAUNCH_SECURITY_STATE":      "SEV secret and its header, guest memory",
}

// pathArgs are argument names that hold a host path libvirtd opens.
var pathArgs = map[string]bool{"To": true, "From": true, "File": true}

// TestEveryXMLCallIsClassified fails when a procedure carries XML (an
// argument whose name says so), a host path (to, from, file) or typed
// parameters, and the content policy's table does not classify it.
func TestEveryXMLCallIsClassified(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	calls := xmlCalls()
	for _, prog := range []proto.Program{proto.Remote, proto.QEMU, proto.LXC} {
		for _, p := range table.Procedures(prog) {
			_, classified := calls[keyOf(p)]
			for _, why := range carries(p) {
				if why == "typed parameters" && paramsWithoutXML[p.Name()] != "" && !classified {
					continue
				}
				if !classified {
					t.Errorf("%s carries %s and is not classified in xmlcalls_table.go", p.Name(), why)
				}
			}
		}
	}
}

// carries says what in p's arguments the content policy must classify.
func carries(p *proto.Procedure) []string {
	args := p.NewArgs()
	if args == nil {
		return nil
	}
	v := reflect.Indirect(reflect.ValueOf(args))
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		switch {
		case strings.Contains(strings.ToLower(f.Name), "xml"):
			out = append(out, "XML ("+f.Name+")")
		case pathArgs[f.Name]:
			out = append(out, "a host path ("+f.Name+")")
		case f.Type == reflect.TypeFor[[]proto.RemoteTypedParam]():
			out = append(out, "typed parameters")
		}
	}
	return out
}

// TestXMLCallsTable checks each entry's shape: harmless, or some way of
// gating; and that its functions take the procedure's own arguments.
func TestXMLCallsTable(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range xmlCalls() {
		p, ok := table.Lookup(k.prog, k.num)
		if !ok {
			t.Errorf("%v: no such procedure", k)
			continue
		}
		gates := c.refuse != nil || c.hostPath != nil || c.docs != nil
		if gates == (c.harmless != "") {
			t.Errorf("%s: harmless %q with gates %v: want exactly one", p.Name(), c.harmless, gates)
		}
		args := p.NewArgs()
		if c.refuse != nil {
			c.refuse(args)
		}
		if c.hostPath != nil {
			c.hostPath(args)
		}
		if c.docs != nil {
			if _, err := c.docs(args); err != nil {
				t.Errorf("%s: docs of empty arguments: %v", p.Name(), err)
			}
		}
	}
}

// TestScreen covers the flag- and parameter-dependent entries.
func TestScreen(t *testing.T) {
	calls := xmlCalls()
	str := func(k, v string) proto.RemoteTypedParam {
		return proto.RemoteTypedParam{Field: k, Value: proto.RemoteTypedParamValue{Type: proto.VirTypedParamString, S: v}}
	}
	base := "/var/lib/x"
	tests := []struct {
		name      string
		proc      proto.RemoteProcedure
		args      proto.Message
		allow     bool
		wantRule  string
		wantWhere string
		wantDocs  []xmlpolicy.Kind
	}{
		{"snapshot", proto.RemoteProcDomainSnapshotCreateXML, &proto.RemoteDomainSnapshotCreateXMLArgs{}, false, "", "", []xmlpolicy.Kind{xmlpolicy.Snapshot}},
		{"snapshot redefine", proto.RemoteProcDomainSnapshotCreateXML, &proto.RemoteDomainSnapshotCreateXMLArgs{Flags: snapshotRedefine}, false, ruleRedefine, "(call)", nil},
		{"checkpoint redefine", proto.RemoteProcDomainCheckpointCreateXML, &proto.RemoteDomainCheckpointCreateXMLArgs{Flags: checkpointRedefine}, false, ruleRedefine, "(call)", nil},
		{"save to a path", proto.RemoteProcDomainSave, &proto.RemoteDomainSaveArgs{To: "/etc/passwd"}, false, ruleHostPath, "to", nil},
		{"save to a path, allowed", proto.RemoteProcDomainSaveFlags, &proto.RemoteDomainSaveFlagsArgs{To: "/x", Dxml: &base}, true, "", "", []xmlpolicy.Kind{xmlpolicy.Domain}},
		{"save params without a file (managed save)", proto.RemoteProcDomainSaveParams, &proto.RemoteDomainSaveParamsArgs{Params: []proto.RemoteTypedParam{str("dxml", "<domain/>")}}, false, "", "", []xmlpolicy.Kind{xmlpolicy.Domain}},
		{"save params with a file", proto.RemoteProcDomainSaveParams, &proto.RemoteDomainSaveParamsArgs{Params: []proto.RemoteTypedParam{str("file", "/x")}}, false, ruleHostPath, "params/file", nil},
		{"rebase in the chain", proto.RemoteProcDomainBlockRebase, &proto.RemoteDomainBlockRebaseArgs{Base: &base}, false, "", "", nil},
		{"rebase to a copy", proto.RemoteProcDomainBlockRebase, &proto.RemoteDomainBlockRebaseArgs{Base: &base, Flags: blockRebaseCopy}, false, ruleHostPath, "base", nil},
		{"migrate params", proto.RemoteProcDomainMigratePerform3Params, &proto.RemoteDomainMigratePerform3ParamsArgs{Params: []proto.RemoteTypedParam{
			str(paramMigrateDestXML, "a"), str("dest_name", "b"), str(paramMigratePersistXML, "c")}}, false, "", "", []xmlpolicy.Kind{xmlpolicy.Domain, xmlpolicy.Domain}},
		{"network define", proto.RemoteProcNetworkDefineXML, &proto.RemoteNetworkDefineXMLArgs{}, false, ruleHostObject, "(call)", nil},
		{"backup with a checkpoint", proto.RemoteProcDomainBackupBegin, &proto.RemoteDomainBackupBeginArgs{CheckpointXML: &base}, false, "", "", []xmlpolicy.Kind{xmlpolicy.Backup, xmlpolicy.Checkpoint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &contentGate{allowHostPaths: tt.allow}
			call := calls[remote(tt.proc)]
			r := g.screen(call, tt.args)
			var rule, where string
			if r != nil {
				rule, where = r.Rule, r.Path
			}
			if rule != tt.wantRule || where != tt.wantWhere {
				t.Fatalf("screen: rule %q at %q, want %q at %q", rule, where, tt.wantRule, tt.wantWhere)
			}
			if r != nil || call.docs == nil {
				return
			}
			docs, err := call.docs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []xmlpolicy.Kind
			for _, d := range docs {
				kinds = append(kinds, d.kind)
			}
			if !reflect.DeepEqual(kinds, tt.wantDocs) {
				t.Errorf("docs: %v, want %v", kinds, tt.wantDocs)
			}
		})
	}
}

// TestTypedParamNotString: an XML parameter of another type is refused,
// never skipped.
func TestTypedParamNotString(t *testing.T) {
	call := xmlCalls()[remote(proto.RemoteProcDomainMigrateBegin3Params)]
	_, err := call.docs(&proto.RemoteDomainMigrateBegin3ParamsArgs{Params: []proto.RemoteTypedParam{
		{Field: paramMigrateDestXML, Value: proto.RemoteTypedParamValue{Type: 1, I: 3}}}})
	if err == nil {
		t.Error("an integer destination_xml passed")
	}
}

// TestDefaultPolicyPath: the configuration's default xml_policy is where
// the packages install the policy.
func TestDefaultPolicyPath(t *testing.T) {
	if config.DefaultXMLPolicy != xmlpolicy.DefaultPath {
		t.Errorf("xml_policy defaults to %s, the packages install %s", config.DefaultXMLPolicy, xmlpolicy.DefaultPath)
	}
}
