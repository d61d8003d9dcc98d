// SPDX-License-Identifier: Apache-2.0

package xmldoc

import "fmt"

// Kind sorts an Error by what its caller answers for it.
type Kind int

const (
	// Malformed: not well-formed XML (encoding/xml's decoder says why).
	Malformed Kind = iota + 1
	// Refused: well-formed, but a construct the reader refuses because
	// libxml2 could read it otherwise (a DOCTYPE, a CDATA section).
	Refused
	// Limit: past one of the Limits, named by Error.Limit.
	Limit
)

// LimitName names one of the Limits.
type LimitName string

// The Limits, by the name an Error gives them.
const (
	LimitBytes    LimitName = "bytes"
	LimitDepth    LimitName = "depth"
	LimitElements LimitName = "elements"
	LimitTokens   LimitName = "tokens"
)

// Error is why Parse refused a document: what (Msg, in libxml2's words
// where the refusal is one libvirt would make too) and where (Line and
// Col, 1-based, where the reader stopped).
type Error struct {
	Kind      Kind
	Limit     LimitName // for Kind Limit: which one
	Max       int       // for Kind Limit: its value
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Kind == Malformed {
		return fmt.Sprintf("not well-formed XML on line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}
