// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// The one table of the calls the XML content policy gates for callers who
// are not admins (xmlgate.go). TestEveryXMLCallIsClassified fails when a
// procedure of libvirt 9.0.0 carries XML, or one of the typed parameters
// that hold XML, and has no entry here.

// Typed parameters that carry a domain XML or a host path
// (include/libvirt/libvirt-domain.h).
const (
	paramMigrateDestXML    = "destination_xml" // VIR_MIGRATE_PARAM_DEST_XML
	paramMigratePersistXML = "persistent_xml"  // VIR_MIGRATE_PARAM_PERSIST_XML
	paramSaveFile          = "file"            // VIR_DOMAIN_SAVE_PARAM_FILE
	paramSaveDXML          = "dxml"            // VIR_DOMAIN_SAVE_PARAM_DXML
)

// Flags that change what a call's XML or path means.
const (
	snapshotRedefine   = 1 << 0 // VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: the XML embeds a whole <domain>
	checkpointRedefine = 1 << 0 // VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE: likewise
	blockRebaseCopy    = 1 << 3 // VIR_DOMAIN_BLOCK_REBASE_COPY: base is a new file to copy to
)

// xmlDoc is one document of a call, to be checked as kind.
type xmlDoc struct {
	kind xmlpolicy.Kind
	arg  string // the argument that carries it, for messages
	text string
}

// xmlCall says what the guard does with one procedure's content for a
// caller who is not an admin. Exactly one of its ways applies, tried in
// this order: refuse (the call is never let through), hostPath (refused
// unless allow_host_path_calls), docs (each document is checked against
// the policy); harmless names XML that gives its author nothing of the
// host and is left to the procedure's permissions.
type xmlCall struct {
	// refuse returns the rule and reason that refuse the call outright,
	// or "" when this call's arguments are acceptable.
	refuse func(args proto.Message) (rule, reason string)
	// hostPath returns the argument that names a host path libvirtd
	// opens, creates or truncates as root, or "" when this call names
	// none.
	hostPath func(args proto.Message) string
	// docs returns the documents to check; an error refuses the call.
	docs func(args proto.Message) ([]xmlDoc, error)
	// defines marks calls that define or create a domain: the name and
	// UUID it takes are decided too (xmluses.go).
	defines bool
	// detaches marks calls whose document names what to take away: the
	// volumes and networks it names are not decided, as they are for
	// every other document (xmluses.go).
	detaches bool
	// harmless says why the XML the call carries is not checked.
	harmless string
}

// Rules of the guard's own, beside the policy file's, for messages and
// audit records.
const (
	ruleHostPath       = "guard.host-path"
	ruleHostObject     = "guard.host-object"
	ruleRedefine       = "guard.redefine"
	ruleWithFiles      = "guard.create-with-files"
	ruleIdentity       = "guard.identity"
	ruleMalformedParam = "guard.typed-param"
)

// hostObject refuses a call that defines a host-level object: whoever
// writes its XML controls the host, whatever the domain policy says.
func hostObject(what string) xmlCall {
	return xmlCall{refuse: func(proto.Message) (string, string) { return ruleHostObject, what }}
}

func harmless(why string) xmlCall { return xmlCall{harmless: why} }

// one returns a docs function for a single document argument.
func one[A proto.Message](k xmlpolicy.Kind, arg string, get func(A) string) func(proto.Message) ([]xmlDoc, error) {
	return func(m proto.Message) ([]xmlDoc, error) {
		return []xmlDoc{{k, arg, get(m.(A))}}, nil
	}
}

// optional returns a docs function for an optional document argument.
func optional[A proto.Message](k xmlpolicy.Kind, arg string, get func(A) *string) func(proto.Message) ([]xmlDoc, error) {
	return func(m proto.Message) ([]xmlDoc, error) {
		if s := get(m.(A)); s != nil {
			return []xmlDoc{{k, arg, *s}}, nil
		}
		return nil, nil
	}
}

// always returns a hostPath function for a call that always names one.
func always(arg string) func(proto.Message) string { return func(proto.Message) string { return arg } }

// domainParams returns a docs function for the typed parameters among
// names that hold a domain XML. Every occurrence is checked: which one
// libvirt would use is libvirt's business.
func domainParams(params func(proto.Message) []proto.RemoteTypedParam, names ...string) func(proto.Message) ([]xmlDoc, error) {
	return func(m proto.Message) ([]xmlDoc, error) {
		var docs []xmlDoc
		for _, p := range params(m) {
			for _, n := range names {
				if p.Field != n {
					continue
				}
				if p.Value.Type != proto.VirTypedParamString {
					return nil, fmt.Errorf("typed parameter %q is not a string", n)
				}
				docs = append(docs, xmlDoc{xmlpolicy.Domain, "params/" + n, p.Value.S})
			}
		}
		return docs, nil
	}
}

// paramPath returns a hostPath function for a call whose typed
// parameters may name a file.
func paramPath(params func(proto.Message) []proto.RemoteTypedParam, name string) func(proto.Message) string {
	return func(m proto.Message) string {
		for _, p := range params(m) {
			if p.Field == name {
				return "params/" + name
			}
		}
		return ""
	}
}

func migrateParams[A proto.Message](get func(A) []proto.RemoteTypedParam) func(proto.Message) ([]xmlDoc, error) {
	return domainParams(func(m proto.Message) []proto.RemoteTypedParam { return get(m.(A)) },
		paramMigrateDestXML, paramMigratePersistXML)
}

func saveParams[A proto.Message](get func(A) []proto.RemoteTypedParam) (func(proto.Message) string, func(proto.Message) ([]xmlDoc, error)) {
	params := func(m proto.Message) []proto.RemoteTypedParam { return get(m.(A)) }
	return paramPath(params, paramSaveFile), domainParams(params, paramSaveDXML)
}

// flagged refuses a call when flag is set in its flags.
func flagged[A proto.Message](flag uint32, flags func(A) uint32, rule, reason string) func(proto.Message) (string, string) {
	return func(m proto.Message) (string, string) {
		if flags(m.(A))&flag != 0 {
			return rule, reason
		}
		return "", ""
	}
}
