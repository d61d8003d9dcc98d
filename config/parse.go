// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"io"
	"strconv"
)

// maxFileSize bounds what Parse reads; the default file is a few KiB.
const maxFileSize = 1 << 20

// Kinds of value, as named in error messages.
const (
	kindInteger = "integer"
	kindString  = "string"
	kindArray   = "list"
)

// value is one value from the file, independent of the tokenizer.
type value struct {
	kind  string  // kindInteger, kindString, kindArray, or what else it is
	text  string  // source text, for integers and for messages
	str   string  // contents of a string
	elems []value // elements of a list
	line  int
}

// describe names v for an error message, e.g. `string "2"`.
func (v value) describe() string {
	switch {
	case v.kind == kindString:
		// Multi-line strings would otherwise break the message's line.
		return v.kind + " " + strconv.Quote(clip(v.str))
	case v.text == "":
		return v.kind
	}
	return v.kind + " " + clip(v.text)
}

func typeError(want string, v value) error {
	if v.kind == "boolean" {
		want += " (libvirt writes booleans as 0 or 1)"
	}
	return fmt.Errorf("must be %s, got %s", want, v.describe())
}

// Parse reads a configuration from r. name is used in error messages,
// normally the file's path. Keys the input does not set keep their
// defaults. The first problem found is returned as an *Error.
func Parse(r io.Reader, name string) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return Config{}, &Error{File: name, Msg: "cannot read: " + err.Error(), Err: err}
	}
	if len(data) > maxFileSize {
		return Config{}, &Error{File: name, Msg: fmt.Sprintf("larger than %d bytes", maxFileSize)}
	}
	cfg, perr := parse(data)
	if perr != nil {
		perr.File = name
		return Config{}, perr
	}
	return cfg, nil
}
