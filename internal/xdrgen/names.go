// SPDX-License-Identifier: Apache-2.0

package xdrgen

import "strings"

// initialism reports whether a lowercased name part is written in capitals
// in Go names.
func initialism(part string) bool {
	switch part {
	case "api", "cpu", "cpus", "fd", "fds", "id", "ids", "io", "ip", "lxc", "mac",
		"nmi", "numa", "qemu", "sev", "tls", "uri", "url", "uuid", "uuids", "xml":
		return true
	}
	return false
}

// goName turns a C name (remote_domain_get_xml_desc_args,
// REMOTE_PROC_CONNECT_OPEN, nrVirtCpu) into an exported Go name
// (RemoteDomainGetXMLDescArgs, RemoteProcConnectOpen, NrVirtCpu).
func goName(c string) string {
	var b strings.Builder
	allCaps := strings.ToUpper(c) == c
	for _, part := range strings.Split(c, "_") {
		if part == "" {
			continue
		}
		if allCaps {
			part = strings.ToLower(part)
		}
		switch {
		case initialism(strings.ToLower(part)) && (allCaps || strings.ToLower(part) == part):
			up := strings.ToUpper(part)
			if strings.HasSuffix(part, "s") && len(part) > 2 {
				up = strings.ToUpper(part[:len(part)-1]) + "s"
			}
			b.WriteString(up)
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
