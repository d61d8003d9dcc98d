// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestJournalLogger(t *testing.T) {
	var buf bytes.Buffer
	level := &slog.LevelVar{}
	level.Set(slog.LevelDebug)
	log := newLogger(&buf, level, true).With("conn", 3)
	log.Error("boom", "err", "x")
	log.Warn("careful")
	log.Info("hello")
	log.Debug("detail")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, want := range []string{"<3>level=ERROR msg=boom conn=3 err=x", "<4>level=WARN", "<6>level=INFO", "<7>level=DEBUG"} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines, want)
		}
	}
	if strings.Contains(buf.String(), "time=") {
		t.Error("journal lines carry their own time stamps")
	}
}

func TestIdleTimer(t *testing.T) {
	it := newIdleTimer(50 * time.Millisecond)
	it.active(1)
	select {
	case <-it.C():
		t.Fatal("fired with a connection open")
	case <-time.After(100 * time.Millisecond):
	}
	it.active(0)
	select {
	case <-it.C():
	case <-time.After(2 * time.Second):
		t.Fatal("did not fire when idle")
	}
	never := newIdleTimer(0)
	select {
	case <-never.C():
		t.Fatal("a zero timeout fired")
	case <-time.After(100 * time.Millisecond):
	}
}
