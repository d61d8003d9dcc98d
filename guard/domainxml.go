// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// domainXMLArg returns the domain XML of the calls that define or create
// a domain from XML: libvirt checks them on the domain the XML describes
// (src/qemu/qemu_driver.c qemuDomainDefineXMLFlags: EnsureACL(conn, def)).
func domainXMLArg(args proto.Message) (string, bool) {
	switch a := args.(type) {
	case *proto.RemoteDomainDefineXMLArgs:
		return a.XML, true
	case *proto.RemoteDomainDefineXMLFlagsArgs:
		return a.XML, true
	case *proto.RemoteDomainCreateXMLArgs:
		return a.XMLDesc, true
	case *proto.RemoteDomainCreateXMLWithFilesArgs:
		return a.XMLDesc, true
	}
	return "", false
}

// domainFromXML identifies the domain an XML document defines by its
// <name> and <uuid>, read as libvirt reads them (the first of each
// directly under <domain>). Without a <uuid> libvirt makes one up, so
// the guard cannot know the object: it refuses.
func (o *objects) domainFromXML(doc string) (acl.Object, error) {
	name, uuid, err := domainNameUUID(doc)
	if err != nil {
		return acl.Object{}, fmt.Errorf("%w: domain XML: %v", errUnsupported, err)
	}
	return o.object(acl.Domain, map[string]string{"domain_name": name, "domain_uuid": uuid})
}

func domainNameUUID(doc string) (name, uuid string, err error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	depth := 0
	var inName, inUUID, haveName, haveUUID bool
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 && (t.Name.Local != "domain" || t.Name.Space != "") {
				return "", "", fmt.Errorf("root element <%s>, want <domain>", t.Name.Local)
			}
			if depth == 2 && t.Name.Space == "" {
				inName = t.Name.Local == "name" && !haveName
				inUUID = t.Name.Local == "uuid" && !haveUUID
				text.Reset()
			}
		case xml.CharData:
			if inName || inUUID {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				switch {
				case inName:
					name, haveName = strings.TrimSpace(text.String()), true
				case inUUID:
					uuid, haveUUID = text.String(), true
				}
				inName, inUUID = false, false
			}
			depth--
		}
	}
	if !haveName || name == "" {
		return "", "", errors.New("no <name>")
	}
	if !haveUUID {
		return "", "", errors.New("no <uuid>: libvirt would generate one")
	}
	canon, err := canonicalUUID(uuid)
	if err != nil {
		return "", "", err
	}
	return name, canon, nil
}

// canonicalUUID parses a UUID as libvirt's virUUIDParse does (spaces
// around it and '-' between digits ignored) and formats it 8-4-4-4-12.
func canonicalUUID(s string) (string, error) {
	digits := strings.NewReplacer("-", "", " ", "", "\t", "", "\n", "").Replace(s)
	b, err := hex.DecodeString(digits)
	if err != nil || len(b) != 16 {
		return "", fmt.Errorf("malformed <uuid> %q", s)
	}
	var u [16]byte
	copy(u[:], b)
	return uuidString(u), nil
}
