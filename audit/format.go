// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"cmp"
	"slices"
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
func Format(r Record) string { return string(appendFormat(nil, r)) }

// appendFormat appends the text Format returns to b. The writer formats
// its records into one buffer per batch this way, rather than into a
// string each.
func appendFormat(b []byte, r Record) []byte {
	var buf [maxFields]field // on the stack: formatting allocates only when b grows
	b, _ = appendFields(b, buf[:0], r, nil)
	return b
}

// appendFields appends r's text to b, laying its fields out in fs; m, if
// not nil, is what the last record's formatting found out. It returns fs
// as measured.
func appendFields(b []byte, fs []field, r Record, m *memo) ([]byte, []field) {
	fs, dropped := fields(fs, r, m)
	size, truncated := fit(fs, dropped, m.last())
	b = slices.Grow(b, size)
	for i := range fs {
		f := &fs[i]
		if f.name == "exe" && truncated {
			b = append(b, truncField...)
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(append(b, f.name...), '=')
		b = f.append(b)
	}
	return b, fs
}

// maxFields is the most fields a record has: 26 of its own, and details.
const maxFields = 26 + maxDetails

// fields appends r's fields to fs in record order. dropped reports details
// left out beyond maxDetails.
func fields(fs []field, r Record, m *memo) (_ []field, dropped bool) {
	decision := "denied"
	if r.Granted {
		decision = "granted"
	}
	fs = append(fs, field{name: "decision", val: decision})
	if !r.Granted {
		fs = append(fs, field{name: "reason", val: r.Reason, kind: token})
	}
	fs = append(fs,
		field{name: "permission", val: r.Permission, kind: token},
		field{name: "action_id", val: r.ActionID, kind: token},
		field{name: "tclass", val: r.ObjectType, kind: token})
	if r.VMName != "" {
		fs = append(fs, field{name: "vm", val: r.VMName, kind: text})
	}
	fs = append(fs,
		field{name: "pid", num: int64(r.PID), kind: number},
		field{name: "uid", num: int64(r.UID), kind: number},
		field{name: "sauid", num: int64(r.AUID), kind: number},
		field{name: "ses", num: int64(r.Session), kind: number})
	if r.UUID != "" {
		fs = append(fs, field{name: "uuid", val: r.UUID, kind: uuidKind})
	}
	for i, d := range r.Details {
		if i == maxDetails {
			dropped = true
			break
		}
		fs = append(fs, field{name: m.detailKey(d.Key), val: d.Value, kind: text})
	}
	fs = append(fs, field{name: "driver", val: r.Driver, kind: token}, field{name: "cached", val: yesNo(r.Cached)})
	return origin(fs, r), dropped
}

// origin appends the fields after cached=: who asked, through what, and
// the subject's executable, then the fixed end.
func origin(fs []field, r Record) []field {
	if r.FrontEnd != "" {
		fs = append(fs, field{name: "frontend", val: r.FrontEnd, kind: token})
	}
	if r.Operation != "" {
		fs = append(fs, field{name: "operation", val: r.Operation, kind: token})
	}
	if r.Rule != "" {
		fs = append(fs, field{name: "content_rule", val: r.Rule, kind: text})
	}
	if r.Where != "" {
		fs = append(fs, field{name: "content_path", val: r.Where, kind: text})
	}
	if q := r.Requester; q == nil {
		fs = append(fs, field{name: "requester", val: "self"})
	} else {
		fs = append(fs, field{name: "requester", val: "proxy"},
			field{name: "proxy_pid", num: int64(q.PID), kind: number},
			field{name: "proxy_user", num: int64(q.UID), kind: number},
			textOr("proxy_program", q.Exe))
	}
	res := "failed"
	if r.Granted {
		res = "success"
	}
	return append(fs, textOr("exe", r.Exe),
		field{name: "hostname", val: "?"},
		field{name: "addr", val: "?"},
		field{name: "terminal", val: "?"},
		field{name: "res", val: res})
}

// textOr is a text field, or ? when v is empty.
func textOr(name, v string) field {
	if v == "" {
		return field{name: name, val: "?"}
	}
	return field{name: name, val: v, kind: text}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
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
	if k == "" {
		return false
	}
	last := k[len(k)-1] // compared first: most keys end unlike most names
	for _, s := range [...]string{
		"subj", "tcontext", "tclass", "vm", "comm", "acct", "hostname", "cwd",
		"terminal", "exe", "res", "result",
	} {
		if s[len(s)-1] == last && strings.HasSuffix(k, s) {
			return true
		}
	}
	return last == 'd' && strings.HasSuffix(k, "uid") && !strings.HasSuffix(k, "uuid")
}

// detailKey returns k if it is a safe field name, else hexKey(k).
func detailKey(k string) string {
	if validKey(k) {
		return k
	}
	return hexKey(k)
}

// hexKey is the field name of k, a key that is no safe field name: "x_"
// and its hex.
func hexKey(k string) string {
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

// fit measures the fields of fs (taking what the last record's fields
// have in common with them from last) and cuts the cuttable values until the
// record fits MaxText, sharing the room fairly: values shorter than an
// equal share keep their length, the others are cut to what is left. It
// returns the record's length, and whether anything was cut or dropped.
func fit(fs []field, dropped bool, last []field) (size int, truncated bool) {
	var buf [maxFields]int
	cuttable := buf[:0]
	fixed, total := 0, 0
	for i := range fs {
		f := &fs[i]
		if i < len(last) {
			f.measureLike(&last[i])
		} else {
			f.measure()
		}
		w := f.w
		n := len(f.name) + 1 + w
		if i > 0 {
			n++ // the separating space
		}
		total += n
		if f.kind == text || f.kind == uuidKind {
			cuttable = append(cuttable, i)
			n -= w
		}
		fixed += n
	}
	if !dropped && total <= MaxText {
		return total, false
	}
	slices.SortStableFunc(cuttable, func(a, b int) int { return cmp.Compare(fs[a].w, fs[b].w) })
	room := MaxText - fixed - len(truncField)
	size = fixed + len(truncField)
	for n, i := range cuttable {
		f := &fs[i]
		if share := room / (len(cuttable) - n); f.w > share {
			f.val = cut(f.kind, f.val, share)
			f.measure()
		}
		room -= f.w
		size += f.w
	}
	return size, true
}

// cut returns the longest prefix of v, on a character boundary, that with
// truncMark added renders in at most room bytes (just truncMark if none
// does).
func cut(k kind, v string, room int) string {
	fits := func(n int) bool { return width(k, v[:n]+truncMark) <= room }
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
