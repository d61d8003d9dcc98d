// SPDX-License-Identifier: Apache-2.0

package xdr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrShort: the body ends before the value does.
	ErrShort = errors.New("body too short")
	// ErrLeftover: bytes remain after the complete body.
	ErrLeftover = errors.New("bytes left after body")
	// ErrNUL: a string contains a NUL byte.
	ErrNUL = errors.New("string contains NUL")
	// ErrTooLong: a length exceeds its maximum or what the body can hold.
	ErrTooLong = errors.New("length exceeds limit")
	// ErrRange: a value does not fit its C type.
	ErrRange = errors.New("value out of range")
	// ErrPadding: a padding byte is not zero.
	ErrPadding = errors.New("nonzero padding")
	// ErrDiscriminant: a union discriminant matches no arm.
	ErrDiscriminant = errors.New("unknown union discriminant")
)

// A FieldError is an error in one field of a message. Path names the field
// from the message's top level, as in "params[2].value.s".
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string { return "field " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Field returns err prefixed with the field name; nil stays nil.
func Field(name string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(err, &fe) && fe == err {
		sep := "."
		if strings.HasPrefix(fe.Path, "[") {
			sep = ""
		}
		return &FieldError{Path: name + sep + fe.Path, Err: fe.Err}
	}
	return &FieldError{Path: name, Err: err}
}

// Index returns err prefixed with the array index i; nil stays nil.
func Index(i int, err error) error {
	if err == nil {
		return nil
	}
	idx := "[" + strconv.Itoa(i) + "]"
	var fe *FieldError
	if errors.As(err, &fe) && fe == err {
		sep := "."
		if strings.HasPrefix(fe.Path, "[") {
			sep = ""
		}
		return &FieldError{Path: idx + sep + fe.Path, Err: fe.Err}
	}
	return &FieldError{Path: idx, Err: err}
}

// BadDiscriminant returns the error for a union discriminant v that
// selects no arm.
func BadDiscriminant(v int64) error { return fmt.Errorf("%w %d", ErrDiscriminant, v) }
