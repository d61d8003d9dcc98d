// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ChangeRecordType is the kernel message type of configuration-change
// records: AUDIT_USYS_CONFIG (1111), "user space system config change",
// which aureport counts among the "changes in configuration". The
// SELinux-era ROLE_ASSIGN/ROLE_REMOVE types were not chosen: aureport
// counts them as MAC events, and these are not SELinux roles.
const ChangeRecordType = 1111

// Change is one change to the helper's configuration (a role granted or
// revoked, the rendered rules applied). The kernel adds who made it: the
// pid, uid, login uid (auid) and session of the process that writes the
// record, the administrator's command.
type Change struct {
	// Op names the change, such as "roles-grant": a token.
	Op string
	// Fields say what changed, in order, after op=. The names vm and uuid
	// are what ausearch's --vm-name and --uuid match; acct names the user
	// a change is about.
	Fields  []Detail
	Success bool
}

// changeOrder is where ausearch's user-record parser looks for the fields
// it knows (it reads them in this order): other fields go before vm=, and
// their names are checked as Format checks detail keys (a name ausearch
// would read, such as "myuid", is written as x_ and its hex).
var changeOrder = []string{"vm", "uuid", "acct"}

// FormatChange returns c's record text:
//
//	op= [other fields] [vm=] [uuid=] [acct=] exe= hostname=? addr=? terminal=? res=
//
// Every value but uuid is written as Format writes untrusted text (quoted,
// or hex when it could fake a field).
func FormatChange(c Change) string {
	var b strings.Builder
	b.WriteString("op=" + render(token, c.Op))
	for pass := 0; pass <= len(changeOrder); pass++ {
		for _, f := range c.Fields {
			if changeRank(f.Key) != pass {
				continue
			}
			key, k := f.Key, text
			switch {
			case key == "uuid":
				k = uuidKind
			case pass == 0:
				key = detailKey(key)
			}
			fmt.Fprintf(&b, " %s=%s", key, render(k, f.Value))
		}
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "?"
	}
	res := "failed"
	if c.Success {
		res = "success"
	}
	fmt.Fprintf(&b, " exe=%s hostname=? addr=? terminal=? res=%s", quote(exe), res)
	return b.String()
}

// changeRank is 0 for a field ausearch does not read, else 1 + its place
// in changeOrder.
func changeRank(key string) int {
	for i, k := range changeOrder {
		if k == key {
			return i + 1
		}
	}
	return 0
}

// WriteChange sends c's record and returns once the kernel accepted it.
// An error says why it was not written; the host's audit being off is
// one (the kernel would drop the record silently).
func WriteChange(c Change) error {
	if err := ChangeWritable(); err != nil {
		return err
	}
	s, err := dialSender()
	if err != nil {
		return err
	}
	defer s.close()
	text := FormatChange(c)
	if n := len(text) + 1; n > MaxText { // with its NUL
		return &Error{Netlink, fmt.Errorf("change record of %d bytes exceeds the kernel's %d", n, MaxText)}
	}
	if err := s.sendType(ChangeRecordType, []string{text})[0]; err != nil {
		return kernelError(err)
	}
	return nil
}

// ChangeWritable reports why a change record could not be written now
// (no CAP_AUDIT_WRITE, the host's audit off), or nil. Check it before a
// change, so a change that cannot be recorded is not made.
func ChangeWritable() error {
	if ok, err := canWrite(); err != nil || !ok {
		return &Error{Refused, errors.Join(errNoCap, err)}
	}
	var st kernelStatus
	status, _, err := st.read()
	st.close()
	if err == nil && status.Enabled == 0 {
		return &Error{Disabled, errDisabled}
	}
	return nil
}
