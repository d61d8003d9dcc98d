// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RecordType is the kernel message type of every record: AUDIT_USER_AVC
// (1107), the type userspace object managers (dbus-daemon, systemd) use for
// their access decisions. See the package documentation for why.
const RecordType = 1107

// MaxText is the most record text the kernel keeps (AUDIT_MESSAGE_TEXT_MAX
// in kernel/audit.h); it silently cuts longer text, which would lose the
// fields at the end, res= among them. Format never returns more.
const MaxText = 8560

const (
	maxToken   = 128   // longest reason, permission, action id, class or driver kept
	maxKey     = 48    // longest detail key kept
	maxDetails = 32    // most details kept (libvirt sends at most five)
	truncMark  = "..." // ends a value that was cut
	truncField = " truncated=yes"
)

// kind says how a field's value is written.
type kind uint8

const (
	literal  kind = iota // trusted text, written as is: numbers, yes/no, ?
	token                // a name from a fixed vocabulary: bare when it looks like one
	text                 // untrusted: quoted, or hex when it could mislead a parser
	uuidKind             // bare when it looks like a UUID, else hex
)

type field struct {
	name string
	val  string
	kind kind
}

// Format returns the text of r's audit record, at most MaxText bytes.
//
// The field order is what ausearch 3.0.9's user-record parser needs (it
// finds fields by substring search, in a fixed order, after the kernel's
// pid= uid= auid= ses= prefix):
//
//	decision= [reason=] permission= action_id= tclass= [vm=]
//	pid= uid= sauid= ses= [uuid=] [detail=...] driver= cached=
//	[frontend=] [operation=] [content_rule=] [content_path=] requester=self|proxy [proxy_pid= proxy_user= proxy_program=]
//	[truncated=yes] exe= hostname=? addr=? terminal=? res=
//
// Why this order:
//   - tclass= comes before vm=, vm= before the subject's uid=, and uuid=
//     after it: ausearch skips the uid= hidden in "uuid=" only when it was
//     asked for --uuid, so uid= must come first to be found by -ua and -ui.
//   - The subject's uid is uid=, the only name -ua and -ui read in a user
//     record. ausearch -i, reading auditd's enriched logs (the default),
//     gives every repeated field name the first one's interpretation, so it
//     names this uid= after the helper's (see README.md's For auditors section for the
//     way around). The login uid is therefore sauid=, libaudit's name for
//     it in USER_AVC records, which is unique, and not a second auid=.
//   - Details follow the subject, where ausearch looks only for comm=,
//     acct=, hostname=, addr=, cwd=, terminal=, exe= and res=.
//   - res= is last, like libaudit's records: ausearch reads it to the
//     closing quote.
//   - Fields added later go among those ausearch does not read, after
//     cached= and before exe=, and are left out when empty, so a record
//     that does not use them reads exactly as before and no field that
//     ausearch finds moves: frontend= and operation= (which front end
//     enforced the decision, and the operation it guarded). Their names
//     are reserved, so no detail can take them. content_rule= and
//     content_path= (the content-policy rule that refused a document and
//     the element or attribute it names) follow them, quoted: a client
//     chose the document, so the path is untrusted text.
//   - requester= says whether the subject asked about itself (self) or a
//     proxy asked on its behalf (proxy), which vouched for the object's
//     details; then proxy_pid=, proxy_user= (its uid, a number) and
//     proxy_program= (its executable) name it. These names hold no "uid=",
//     "exe=" or other string ausearch searches for: -ua, -ui, -p,
//     --uuid, --vm-name, -x and --success keep finding the subject's
//     fields, never the proxy's, and auditd's enrichment leaves them
//     alone.
//
// Values a client can choose (names, paths, detail values) are quoted, or
// hex-encoded when they hold a byte that could end or fake a field: a space
// or control byte, a quote or apostrophe, '=', or a byte outside ASCII.
// When the record would be longer than MaxText, those values are cut,
// longest first, each ending in "...", and truncated=yes is added; the
// decision, subject, permission and result are never cut away.
func Format(r Record) string {
	fs, dropped := fields(r)
	truncated := fit(fs, dropped)
	var b strings.Builder
	b.Grow(256)
	for i, f := range fs {
		if f.name == "exe" && truncated {
			b.WriteString(truncField)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.name)
		b.WriteByte('=')
		b.WriteString(render(f.kind, f.val))
	}
	return b.String()
}

// fields lists r's fields in record order. dropped reports details left out
// beyond maxDetails.
func fields(r Record) (fs []field, dropped bool) {
	decision, res := "denied", "failed"
	if r.Granted {
		decision, res = "granted", "success"
	}
	fs = append(fs, field{"decision", decision, literal})
	if !r.Granted {
		fs = append(fs, field{"reason", r.Reason, token})
	}
	fs = append(fs,
		field{"permission", r.Permission, token},
		field{"action_id", r.ActionID, token},
		field{"tclass", r.ObjectType, token})
	if r.VMName != "" {
		fs = append(fs, field{"vm", r.VMName, text})
	}
	fs = append(fs,
		field{"pid", strconv.Itoa(r.PID), literal},
		field{"uid", strconv.FormatUint(uint64(r.UID), 10), literal},
		field{"sauid", strconv.FormatUint(uint64(r.AUID), 10), literal},
		field{"ses", strconv.FormatUint(uint64(r.Session), 10), literal})
	if r.UUID != "" {
		fs = append(fs, field{"uuid", r.UUID, uuidKind})
	}
	for i, d := range r.Details {
		if i == maxDetails {
			dropped = true
			break
		}
		fs = append(fs, field{detailKey(d.Key), d.Value, text})
	}
	fs = append(fs, field{"driver", r.Driver, token}, field{"cached", yesNo(r.Cached), literal})
	if r.FrontEnd != "" {
		fs = append(fs, field{"frontend", r.FrontEnd, token})
	}
	if r.Operation != "" {
		fs = append(fs, field{"operation", r.Operation, token})
	}
	if r.Rule != "" {
		fs = append(fs, field{"content_rule", r.Rule, text})
	}
	if r.Where != "" {
		fs = append(fs, field{"content_path", r.Where, text})
	}
	if q := r.Requester; q == nil {
		fs = append(fs, field{"requester", "self", literal})
	} else {
		prog := field{"proxy_program", q.Exe, text}
		if q.Exe == "" {
			prog = field{"proxy_program", "?", literal}
		}
		fs = append(fs, field{"requester", "proxy", literal},
			field{"proxy_pid", strconv.Itoa(q.PID), literal},
			field{"proxy_user", strconv.FormatUint(uint64(q.UID), 10), literal},
			prog)
	}
	exe := field{"exe", r.Exe, text}
	if r.Exe == "" {
		exe = field{"exe", "?", literal}
	}
	fs = append(fs, exe,
		field{"hostname", "?", literal},
		field{"addr", "?", literal},
		field{"terminal", "?", literal},
		field{"res", res, literal})
	return fs, dropped
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// render writes a value of kind k.
func render(k kind, v string) string {
	switch k {
	case token:
		if len(v) > maxToken {
			v = v[:maxToken] + truncMark
		}
		if v == "" {
			return "?"
		}
		if isToken(v) {
			return v
		}
		return quote(v)
	case text:
		return quote(v)
	case uuidKind:
		if isUUID(v) {
			return v
		}
		return hexUpper(v)
	}
	return v
}

// quote writes an untrusted value the way libaudit's audit_encode_nv_string
// does, "value" or hex, but also hex-encodes an apostrophe and '=': ausearch finds
// fields by substring search, so a quoted `res=failed` would be read as the
// result, and an apostrophe ends the kernel's msg='...'.
func quote(v string) string {
	if needsHex(v) {
		return hexUpper(v)
	}
	return `"` + v + `"`
}

func needsHex(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c >= 0x7f || c == '"' || c == '\'' || c == '=' {
			return true
		}
	}
	return false
}

func hexUpper(v string) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 2*len(v))
	for i := 0; i < len(v); i++ {
		b = append(b, digits[v[i]>>4], digits[v[i]&0x0f])
	}
	return string(b)
}

// isToken reports whether v can be written bare: letters, digits and
// "_.-," (a driver stack is "none,polkit"), not ending in ',' which auparse
// strips.
func isToken(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-' || c == ','
		if !ok {
			return false
		}
	}
	return v != "" && v[len(v)-1] != ','
}

// isUUID reports whether v can be written bare as uuid=: ausearch reads the
// value up to a space or ':' and compares it literally.
func isUUID(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-') {
			return false
		}
	}
	return true
}

// reserved reports whether k is one of this record's own field names,
// which a detail must not repeat.
func reserved(k string) bool {
	switch k {
	case "decision", "reason", "permission", "action_id", "tclass", "vm",
		"pid", "uid", "sauid", "ses", "uuid", "driver", "cached", "frontend", "operation",
		"content_rule", "content_path", "requester", "proxy_pid", "proxy_user", "proxy_program", "truncated",
		"exe", "hostname", "addr", "terminal", "res":
		return true
	}
	return false
}

// parserSuffix reports whether k ends in a name ausearch finds by substring
// search ("exe=" is also found in "myexe="): a detail key ending in one
// would be read as that field. "uid" is allowed only as part of "uuid"
// (domain_uuid, pool_uuid), which ausearch knows to skip.
func parserSuffix(k string) bool {
	for _, s := range [...]string{
		"subj", "tcontext", "tclass", "vm", "comm", "acct", "hostname", "cwd",
		"terminal", "exe", "res", "result",
	} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return strings.HasSuffix(k, "uid") && !strings.HasSuffix(k, "uuid")
}

// detailKey returns k if it is a safe field name, else "x_" and its hex.
func detailKey(k string) string {
	if validKey(k) {
		return k
	}
	if len(k) > maxKey {
		k = k[:maxKey]
	}
	return "x_" + hexUpper(k)
}

func validKey(k string) bool {
	if k == "" || len(k) > maxKey || k[0] < 'a' || k[0] > 'z' || reserved(k) || parserSuffix(k) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// fit cuts the cuttable values of fs until the record fits MaxText, sharing
// the room fairly: values shorter than an equal share keep their length,
// the others are cut to what is left. It reports whether anything was cut
// or dropped.
func fit(fs []field, dropped bool) bool {
	var cuttable []int
	fixed, total := 0, 0
	for i, f := range fs {
		n := len(f.name) + 1 + len(render(f.kind, f.val))
		if i > 0 {
			n++ // the separating space
		}
		total += n
		if f.kind == text || f.kind == uuidKind {
			cuttable = append(cuttable, i)
			n -= len(render(f.kind, f.val))
		}
		fixed += n
	}
	if !dropped && total <= MaxText {
		return false
	}
	sort.SliceStable(cuttable, func(a, b int) bool {
		return len(render(fs[cuttable[a]].kind, fs[cuttable[a]].val)) <
			len(render(fs[cuttable[b]].kind, fs[cuttable[b]].val))
	})
	room := MaxText - fixed - len(truncField)
	for n, i := range cuttable {
		share := room / (len(cuttable) - n)
		if len(render(fs[i].kind, fs[i].val)) > share {
			fs[i].val = cut(fs[i].kind, fs[i].val, share)
		}
		room -= len(render(fs[i].kind, fs[i].val))
	}
	return true
}

// cut returns the longest prefix of v, on a character boundary, that with
// truncMark added renders in at most room bytes (just truncMark if none
// does).
func cut(k kind, v string, room int) string {
	fits := func(n int) bool { return len(render(k, v[:n]+truncMark)) <= room }
	lo, hi := 0, len(v) // fits(lo) is assumed; find the largest n that fits
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for lo > 0 && lo < len(v) && !utf8.RuneStart(v[lo]) {
		lo--
	}
	return v[:lo] + truncMark
}
