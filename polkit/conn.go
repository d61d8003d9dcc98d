// SPDX-License-Identifier: Apache-2.0

package polkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// connect opens a private, authenticated connection, subscribes to the
// signals behind Events and learns polkit's current owner. It gives up
// after CallTimeout or when ctx ends.
func (a *Authority) connect(ctx context.Context) (*dbus.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.CallTimeout)
	defer cancel()
	h := &signalHandler{events: a.events}
	conn, err := dbus.Dial(a.opts.Address, dbus.WithSignalHandler(h))
	if err != nil {
		return nil, err
	}
	// godbus's handshake takes no context; closing the connection aborts it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err = setup(ctx, conn, h)
	if !stop() && err == nil {
		err = ctx.Err() // closed just after setup finished
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	return conn, nil
}

func setup(ctx context.Context, conn *dbus.Conn, h *signalHandler) error {
	if err := conn.Auth(nil); err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	if err := conn.Hello(); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	for _, rule := range matchRules() {
		if err := conn.AddMatchSignalContext(ctx, rule...); err != nil {
			return fmt.Errorf("subscribe to polkit signals: %w", err)
		}
	}
	owner, err := nameOwner(ctx, conn)
	if err != nil {
		return err
	}
	h.initOwner(owner)
	return nil
}

// nameOwner returns the unique name owning org.freedesktop.PolicyKit1, or
// "" when polkitd is not running.
func nameOwner(ctx context.Context, conn *dbus.Conn) (string, error) {
	var owner string
	err := conn.BusObject().CallWithContext(ctx, dbusIface+".GetNameOwner", 0, busName).Store(&owner)
	var derr dbus.Error
	if errors.As(err, &derr) && derr.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up owner of %s: %w", busName, err)
	}
	return owner, nil
}

// supervise waits for the connection to break, then reconnects, until
// Close.
func (a *Authority) supervise(conn *dbus.Conn) {
	defer a.wg.Done()
	for conn != nil {
		select {
		case <-a.ctx.Done():
			return
		case <-conn.Context().Done():
		}
		a.conn.CompareAndSwap(conn, nil)
		conn.Close()
		if a.ctx.Err() != nil {
			return
		}
		lost := fmt.Sprintf("connection to %s lost", a.opts.Address)
		a.setDown(errors.New(lost + "; reconnecting"))
		a.events.push(Event{Reason: Disconnected, Detail: lost})
		conn = a.reconnect()
	}
}

// reconnect retries with exponential backoff until it connects (and
// returns the connection, now current) or Close (and returns nil).
func (a *Authority) reconnect() *dbus.Conn {
	delay := a.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		timer := time.NewTimer(delay)
		select {
		case <-a.ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		conn, err := a.connect(a.ctx)
		if err == nil {
			a.conn.Store(conn)
			a.events.push(Event{Reason: Reconnected,
				Detail: fmt.Sprintf("connected to %s after %d attempts", a.opts.Address, attempt)})
			return conn
		}
		delay = min(2*delay, a.opts.MaxBackoff)
		a.setDown(fmt.Errorf("connection to %s lost; reconnect attempt %d failed, next in %v: %w",
			a.opts.Address, attempt, delay, err))
	}
}
