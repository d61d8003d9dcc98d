// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"fmt"
	"strings"
)

const fileHeader = `# Configuration file for virt-acl-helper, the daemon that answers
# libvirt's access control checks. It is read from
# ` + DefaultPath + `
# when the daemon starts.
#
# The syntax is that of libvirtd.conf: "key = value" lines, where a
# value is an integer, a double-quoted string or a list of strings
# such as [ "a", "b" ], which may span lines. Booleans are written 0
# or 1, and durations in seconds. "#" starts a comment.
#
# Every setting is shown commented out, with its default value.
# Uncomment a line to change it; an unknown key or a value out of
# range stops the daemon from starting.
`

// DefaultFile renders the commented default configuration file from the
// key table. conf/virt-acl-helper.conf is its output; regenerate it with
// "go generate ./config/".
func DefaultFile() []byte {
	var b bytes.Buffer
	b.WriteString(fileHeader)
	section := ""
	for _, s := range settings() {
		if s.section != section {
			section = s.section
			writeSection(&b, section)
		}
		writeSetting(&b, s)
	}
	return b.Bytes()
}

func writeSection(b *bytes.Buffer, title string) {
	rule := strings.Repeat("#", 65)
	fmt.Fprintf(b, "\n\n%s\n#\n# %s\n#\n", rule, title)
}

// writeSetting writes a key's doc text, the bounds of an integer, and the
// key commented out with its default.
func writeSetting(b *bytes.Buffer, s setting) {
	b.WriteString("\n")
	for _, line := range strings.Split(s.doc, "\n") {
		b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}
	if k, ok := s.kind.(integer); ok {
		fmt.Fprintf(b, "#\n# Accepted values: %d to %d.\n", k.min, k.max)
	}
	fmt.Fprintf(b, "#\n#%s = %s\n", s.name, s.kind.literal())
}
