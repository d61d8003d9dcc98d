// SPDX-License-Identifier: Apache-2.0

// Package xmldoc is the one reader of the libvirt XML documents clients
// send (and libvirtd answers) that the helper decides on: the guard's
// identification of the object a definition names and the XML content
// policy both read a document through Parse, so the two can never read
// one document two ways, and a hardening of the reader hardens both.
//
// Parse reads strictly: only documents encoding/xml and libxml2 (which
// parses them for libvirt) read alike get through. It refuses DOCTYPE,
// DTD and entity declarations, processing instructions other than a
// leading XML declaration of version 1.0 in UTF-8, CDATA sections,
// byte-order marks, NUL bytes, duplicate attributes (also through two
// prefixes bound to one namespace), unbound or malformed prefixes,
// declarations of the reserved xml and xmlns prefixes, content outside
// the one root element, and documents past its Limits (bytes, depth,
// elements, tokens). Every refusal is an *Error saying what and where.
package xmldoc
