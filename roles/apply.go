// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// DefaultRulesPath is where Apply installs the rendered rule. polkit runs
// the files of /etc/polkit-1/rules.d and /usr/share/polkit-1/rules.d
// together, sorted by file name: files named before 60-virt-acl-helper-
// roles.rules decide first.
const DefaultRulesPath = "/etc/polkit-1/rules.d/60-virt-acl-helper-roles.rules"

// Prober asks the running polkitd whether it runs the rule file with
// digest: true when the rule answered the probe.
type Prober interface {
	Probe(ctx context.Context, digest string) (bool, error)
}

// Installer puts a rendered rule in place and keeps it only once polkitd
// runs it.
type Installer struct {
	Path   string
	Prober Prober
	// Wait bounds how long polkitd has to load the file. Default 10s.
	Wait time.Duration
}

// Install replaces the rule file with r atomically, then waits until
// polkitd answers r's probe and a control question without it as r says it
// must: only then does polkitd run this exact file. Otherwise (a file
// polkitd rejects, a polkitd that is not running) the previous file is put
// back and Install fails. Between the two replacements polkitd may run
// without the roles: a window of denials, never of extra grants.
func (in Installer) Install(ctx context.Context, r Rendered) error {
	old, err := os.ReadFile(in.Path)
	had := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("apply: %w", err)
	}
	if !had || !bytes.Equal(old, r.Text) {
		if err := WriteFile(in.Path, r.Text, 0o644); err != nil {
			return fmt.Errorf("apply: %w", err)
		}
	}
	if err := in.confirm(ctx, r.Digest); err != nil {
		return errors.Join(err, in.restore(old, had))
	}
	return nil
}

func (in Installer) restore(old []byte, had bool) error {
	if had {
		if err := WriteFile(in.Path, old, 0o644); err != nil {
			return fmt.Errorf("put the previous %s back: %w", in.Path, err)
		}
		return nil
	}
	if err := os.Remove(in.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the rejected %s: %w", in.Path, err)
	}
	return nil
}

// confirm waits for the probe, then asks the control question: a probe
// with another value must not be answered, or something other than this
// file answered it.
func (in Installer) confirm(ctx context.Context, digest string) error {
	wait := in.Wait
	if wait == 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last error
	for {
		ok, err := in.Prober.Probe(ctx, digest)
		if err == nil && ok {
			break
		}
		last = err
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("polkitd does not run it (a syntax error? see polkitd's log)")
			}
			return fmt.Errorf("apply: polkitd did not load %s within %v: %w; the previous rules are back", in.Path, wait, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	ok, err := in.Prober.Probe(ctx, "control-"+digest)
	if err != nil || ok {
		return fmt.Errorf("apply: the probe's answer does not come from %s (a rule before it answers %s for everyone?): %v", in.Path, ProbeAction, err)
	}
	return nil
}
