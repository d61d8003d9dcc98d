// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"fmt"
	"os"
	"strings"
)

// libvirtRules is libvirt's example policy, as libvirt-doc installs it.
// It is read at run time, never copied into this tree.
const libvirtRules = "/usr/share/doc/libvirt-doc/examples/polkit/libvirt-acl.rules"

// userRules is the number of generated per-user rules: a site with tens
// of users each owning their own VMs, as libvirt's example suggests.
const userRules = 40

// Rules returns the rules file the benchmark installs: one rule per
// generated user, then the rule for the benchmark's own user, which
// therefore runs after the others, then libvirt's example (when
// installed) as the policy for everyone else. libvirt's rule answers NO
// to every restricted domain action it does not grant, so rules that
// grant more must come before it.
//
// Every polkitd on the machine reads the file, so libvirt's example, which
// would answer for every user, is scoped to the benchmark's user: its
// rules are registered through a polkit.addRule that skips everyone else
// (one string comparison more per rule), and the original is put back.
func Rules(user string) (text string, withLibvirt bool) {
	var b strings.Builder
	defer func() {
		if data, err := os.ReadFile(libvirtRules); err == nil {
			fmt.Fprintf(&b, scopedStart, user)
			b.Write(data)
			b.WriteString(scopedEnd)
			text, withLibvirt = b.String(), true
		}
	}()
	for i := range userRules {
		fmt.Fprintf(&b, `polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.libvirt.api.domain.") == 0 && subject.user == "tenant%02d" &&
        action.lookup("domain_name").indexOf("tenant%02d-") == 0)
        return polkit.Result.YES;
});
`, i, i)
	}
	fmt.Fprintf(&b, `polkit.addRule(function(action, subject) {
    if (subject.user == %q && action.id.indexOf("org.libvirt.api.domain.") == 0 &&
        action.lookup("domain_name").indexOf("bench-") == 0)
        return polkit.Result.YES;
});
`, user)
	return b.String(), withLibvirt
}

// scopedStart and scopedEnd enclose rules that apply to one user only.
const (
	scopedStart = `
(function(addRule) {
    polkit.addRule = function(rule) {
        addRule.call(polkit, function(action, subject) {
            if (subject.user != %q)
                return null; // not handled: the next rule decides
            return rule(action, subject);
        });
    };
    try {
`
	scopedEnd = `
    } finally {
        polkit.addRule = addRule;
    }
})(polkit.addRule);
`
)
