// SPDX-License-Identifier: Apache-2.0

package polkit

import (
	"fmt"

	"github.com/godbus/dbus/v5"
)

// dismissedKey is the detail polkit sets to "true" when an authentication
// dialog was dismissed.
const dismissedKey = "polkit.dismissed"

// A Result is polkit's answer to CheckAuthorization. Only Authorized
// allows; a Challenge (polkit wanted someone to authenticate, which no
// agent can do here) and Dismissed deny, as in libvirt.
type Result struct {
	Authorized bool
	Challenge  bool // polkit's is_challenge
	Dismissed  bool // the polkit.dismissed detail was "true"
	Details    map[string]string
}

// String describes the result for logs.
func (r Result) String() string {
	switch {
	case r.Authorized:
		return "authorized"
	case r.Dismissed:
		return "not authorized (authentication dismissed)"
	case r.Challenge:
		return "not authorized (authentication required, no agent)"
	default:
		return "not authorized"
	}
}

// wireResult is the D-Bus form (bba{ss}) of a result.
type wireResult struct {
	IsAuthorized bool
	IsChallenge  bool
	Details      map[string]string
}

// decodeResult decodes the body of a CheckAuthorization reply. On error
// it returns the zero Result, which is not authorized.
func decodeResult(body []any) (Result, error) {
	var w wireResult
	if err := dbus.Store(body, &w); err != nil {
		return Result{}, fmt.Errorf("unexpected reply %v: %w", body, err)
	}
	r := Result{
		Authorized: w.IsAuthorized,
		Challenge:  w.IsChallenge,
		Details:    w.Details,
	}
	r.Dismissed = w.Details[dismissedKey] == "true"
	// polkit never combines these; should it, deny.
	if r.Authorized && (r.Challenge || r.Dismissed) {
		r.Authorized = false
	}
	return r, nil
}
