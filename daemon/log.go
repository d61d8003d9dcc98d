// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/virt-acl-helper/virt-acl-helper/config"
)

// newLogger logs to w: as plain text lines when w is a terminal or a file,
// and with sd-daemon(3) priority prefixes ("<3>") when it is the journal's
// stream, so journald files each line at its level without the helper
// linking to the journal's own protocol.
func newLogger(w io.Writer, level *slog.LevelVar, journalStream bool) *slog.Logger {
	if !journalStream {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	}
	lw := &prefixWriter{w: w}
	inner := slog.NewTextHandler(lw, &slog.HandlerOptions{Level: level,
		// journald stamps every line itself.
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
	return slog.New(&journalHandler{inner: inner, w: lw})
}

// stderrIsJournal reports whether stderr is connected to journald
// (JOURNAL_STREAM names it), as when systemd runs the service.
func stderrIsJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return ok && err == nil
}

// prefixWriter writes each line with the priority prefix of the record
// being handled.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) > 0 {
			out.WriteString(p.prefix)
			out.Write(line)
		}
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

type journalHandler struct {
	inner slog.Handler
	w     *prefixWriter
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.prefix = priority(r.Level)
	return h.inner.Handle(ctx, r)
}

func (h *journalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &journalHandler{inner: h.inner.WithAttrs(attrs), w: h.w}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{inner: h.inner.WithGroup(name), w: h.w}
}

// priority is the syslog priority prefix of a level.
func priority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}

// slogLevel maps libvirt's log_level numbers to slog levels.
func slogLevel(l config.LogLevel) slog.Level {
	switch l {
	case config.LogDebug:
		return slog.LevelDebug
	case config.LogInfo:
		return slog.LevelInfo
	case config.LogError:
		return slog.LevelError
	}
	return slog.LevelWarn
}
