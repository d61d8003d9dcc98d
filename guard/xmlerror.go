// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
)

// libvirt's error codes and domains for documents it refuses to parse
// (include/libvirt/virterror.h).
const (
	errXML        = 27 // VIR_ERR_XML_ERROR
	errXMLDetail  = 35 // VIR_ERR_XML_DETAIL
	fromXMLParser = 5  // VIR_FROM_XML
)

// xmlKind is what libvirt's parser of one object type's XML expects and
// reports: the root element, the name it gives the document in its
// errors and the error domain of the file that parses it (virXMLParse's
// url and VIR_FROM_THIS in src/conf/*_conf.c).
type xmlKind struct {
	root, url string
	domain    int32
}

var xmlKinds = map[acl.ObjectType]xmlKind{
	acl.Domain:          {"domain", "(domain_definition)", 20},                 // VIR_FROM_DOMAIN
	acl.Network:         {"network", "(network_definition)", 19},               // VIR_FROM_NETWORK
	acl.NetworkPort:     {"networkport", "(networkport_definition)", 19},       // VIR_FROM_NETWORK
	acl.StoragePool:     {"pool", "(storage_pool_definition)", 18},             // VIR_FROM_STORAGE
	acl.StorageVol:      {"volume", "(storage_volume_definition)", 18},         // VIR_FROM_STORAGE
	acl.Secret:          {"secret", "(definition_of_secret)", 30},              // VIR_FROM_SECRET
	acl.NWFilter:        {"filter", "(nwfilter_definition)", 33},               // VIR_FROM_NWFILTER
	acl.NWFilterBinding: {"filterbinding", "(nwfilterbinding_definition)", 33}, // VIR_FROM_NWFILTER
	acl.Interface:       {"interface", "(interface_definition)", 26},           // VIR_FROM_INTERFACE
	acl.NodeDevice:      {"device", "(node_device_definition)", 22},            // VIR_FROM_NODEDEV
}

// docError is a document libvirt refuses before its access check, with
// the error libvirtd answers for it, or one the guard's strict reader
// (internal/xmldoc) refuses in the same form because libxml2 could read
// it otherwise (a DOCTYPE, a declared encoding other than UTF-8, CDATA).
// The guard answers that error itself and audits the refusal: a
// document it could not read is never forwarded, since libvirt would
// then act on a document no one decided.
type docError struct {
	code, domain int32
	format       string // libvirt's message for the code ("XML error: %s")
	detail       string
}

func (e *docError) Error() string { return strings.Replace(e.format, "%s", e.detail, 1) }

// Unwrap makes a docError a refusal: nothing it names is decided.
func (e *docError) Unwrap() error { return errUnsupported }

// body is the error as libvirt's virReportErrorHelper fills it
// (src/util/virerror.c): the message, its format and its detail.
func (e *docError) body() *frame.ErrorBody {
	msg, format, detail := e.Error(), e.format, e.detail
	return &frame.ErrorBody{Code: e.code, Domain: e.domain, Level: frame.LevelError,
		Message: &msg, Str1: &format, Str2: &detail, Int1: -1, Int2: -1}
}

// syntaxError is libxml2's refusal of a document that is not well formed
// as libvirt reports it (catchXMLError, src/util/virxml.c): the
// document's name, the line, the parser's message, the line's text and a
// pointer to the column. The message is internal/xmldoc's, in libxml2's
// words where it has them.
func syntaxError(k xmlKind, doc string, line, col int, msg string) *docError {
	text := ""
	if lines := strings.Split(doc, "\n"); line >= 1 && line <= len(lines) {
		text = strings.TrimRight(lines[line-1], "\r")
	}
	var ptr strings.Builder
	for i := 0; i < col-1 && i < len(text); i++ {
		if text[i] == '\t' {
			ptr.WriteByte('\t')
		} else {
			ptr.WriteByte('-')
		}
	}
	ptr.WriteByte('^')
	detail := fmt.Sprintf("%s:%d: %s\n%s\n%s", k.url, line, msg, text, ptr.String())
	return &docError{code: errXMLDetail, domain: k.domain, format: "%s", detail: detail}
}

// rootError is libvirt's refusal of a document whose root element is not
// the one expected (virXMLParseHelper, reported from virxml.c).
func rootError(k xmlKind, got string) *docError {
	return &docError{code: errXML, domain: fromXMLParser, format: "XML error: %s",
		detail: fmt.Sprintf("expecting root element of '%s', not '%s'", k.root, got)}
}

// xmlContentError is libvirt's VIR_ERR_XML_ERROR about a parsed document
// of kind k ("missing volume name element").
func xmlContentError(k xmlKind, detail string) *docError {
	return &docError{code: errXML, domain: k.domain, format: "XML error: %s", detail: detail}
}

// internalError is libvirt's VIR_ERR_INTERNAL_ERROR about a parsed
// document of kind k ("filter binding has no port dev name").
func internalError(k xmlKind, detail string) *docError {
	return &docError{code: errInternal, domain: k.domain, format: "internal error: %s", detail: detail}
}
