// SPDX-License-Identifier: Apache-2.0

package config

import (
	"strconv"
	"strings"
)

// Error is the error Parse, Load and Validate return. Callers can use
// errors.As to find the file, line and key at fault.
type Error struct {
	File string // name given to Parse, or path given to Load; empty from Validate
	Line int    // 1-based line, or 0 when the problem is not on one line
	Key  string // key at fault, or empty for syntax and file errors
	Msg  string // what is wrong
	Err  error  // underlying cause, such as an I/O error; usually nil
}

// Error formats e as "file:line: key: msg", leaving out the parts not set.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteString(":")
		}
		b.WriteString(strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(showKey(e.Key) + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// maxShown bounds how much of the file's text an error message repeats.
const maxShown = 64

// clip cuts s to maxShown bytes, so a message stays short whatever the file
// holds.
func clip(s string) string {
	if len(s) > maxShown {
		return s[:maxShown] + "..."
	}
	return s
}

// showKey returns a key as is when it looks like one, quoted otherwise, so
// that a quoted key's odd characters cannot break a log line.
func showKey(key string) string {
	key = clip(key)
	if strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != "" {
		return strconv.Quote(key)
	}
	return key
}

// lineError moves the blame for a value's error to a later line, such as
// the line of one element of a list that spans lines.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }

func atLine(line int, err error) error { return &lineError{line: line, err: err} }

// suggest returns the known key closest to an unknown one, or "" when none
// is close enough to be a likely typo.
func suggest(unknown string) string {
	unknown = strings.ToLower(unknown)
	best, bestDist := "", 3 // farther than two edits is not a typo
	for _, s := range settings() {
		if d := editDistance(unknown, s.name); d < bestDist {
			best, bestDist = s.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
