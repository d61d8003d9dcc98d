// SPDX-License-Identifier: Apache-2.0

package polkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// ErrUnavailable is wrapped by every error that means polkit gave no
// decision: no bus connection, no reply in time, or an error reply from
// the bus or polkitd (such as an action that is not registered). Callers
// deny and must not cache the outcome.
var ErrUnavailable = errors.New("polkit authority unavailable")

// errClosed is the reason Check fails after Close.
var errClosed = errors.New("authority closed")

// defaultSystemBus is the system bus address of the D-Bus specification.
const defaultSystemBus = "unix:path=/var/run/dbus/system_bus_socket"

// Options configure an Authority. The zero value is usable.
type Options struct {
	// Address is the D-Bus address of the bus. Empty means the system bus:
	// $DBUS_SYSTEM_BUS_ADDRESS, else unix:path=/var/run/dbus/system_bus_socket.
	Address string
	// CallTimeout bounds each CheckAuthorization and each connection
	// attempt. Default 10s.
	CallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay between reconnection
	// attempts, which doubles after each failure. Defaults 50ms and 5s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// WaitForBus makes Dial succeed even when the bus cannot be reached
	// yet (a daemon started before the bus at boot): the Authority then
	// connects in the background.
	WaitForBus bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Address == "" {
		o.Address = os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	}
	if o.Address == "" {
		o.Address = defaultSystemBus
	}
	o.CallTimeout = orDefault(o.CallTimeout, 10*time.Second)
	o.MinBackoff = orDefault(o.MinBackoff, 50*time.Millisecond)
	o.MaxBackoff = orDefault(o.MaxBackoff, 5*time.Second)
	if o.CallTimeout < 0 || o.MinBackoff < 0 || o.MaxBackoff < o.MinBackoff {
		return o, fmt.Errorf("polkit: invalid options: call timeout %v, backoff %v to %v",
			o.CallTimeout, o.MinBackoff, o.MaxBackoff)
	}
	return o, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// An Authority is a connection to polkit's Authority on a bus. It is safe
// for concurrent use. Close it when done.
type Authority struct {
	opts   Options
	events *eventQueue
	conn   atomic.Pointer[dbus.Conn] // nil while disconnected

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu   sync.Mutex
	down error // why conn is nil
}

// Dial connects to the bus on a private connection and subscribes to the
// signals behind Events. If the first connection fails, Dial fails, unless
// Options.WaitForBus is set: the Authority then keeps trying in the
// background, Check fails with ErrUnavailable until it connects, and
// Events reports Reconnected when it does. After the first connection the
// Authority reconnects by itself until Close. polkitd need not be running
// yet.
func Dial(ctx context.Context, opts Options) (*Authority, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Authority{opts: opts, events: newEventQueue()}
	conn, err := a.connect(ctx)
	if err != nil && !opts.WaitForBus {
		return nil, fmt.Errorf("polkit: connect to %s: %w: %w", opts.Address, ErrUnavailable, err)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		a.events.run(a.ctx)
	}()
	if err != nil {
		a.setDown(fmt.Errorf("connect to %s: %w; retrying", opts.Address, err))
		go a.connectLater()
		return a, nil
	}
	a.conn.Store(conn)
	go a.supervise(conn)
	return a, nil
}

// connectLater keeps trying to make the first connection, then supervises
// it, until Close.
func (a *Authority) connectLater() {
	conn := a.reconnect()
	if conn == nil {
		a.wg.Done()
		return
	}
	a.supervise(conn)
}

// Address is the bus address the Authority connects to.
func (a *Authority) Address() string { return a.opts.Address }

// Connected reports whether the Authority has a bus connection now.
func (a *Authority) Connected() bool { return a.conn.Load() != nil }

// Events returns the channel on which the Authority tells when cached
// decisions may be stale. Receive from it promptly: events that pile up
// are coalesced, never dropped silently, and never block the bus. It is
// closed by Close.
func (a *Authority) Events() <-chan Event { return a.events.out }

// Generation returns a counter that grows before each event is queued for
// Events; signals are counted on the dispatch goroutine, before any reply
// that follows them on the bus is delivered. A cache stores a Check result
// only if Generation was the same before and after the Check: otherwise the
// decision may predate a change whose event was already handled.
func (a *Authority) Generation() uint64 { return a.events.gen.Load() }

// Close closes the connection, stops reconnecting and closes Events. Check
// fails with ErrUnavailable afterwards.
func (a *Authority) Close() error {
	a.once.Do(func() {
		a.setDown(errClosed)
		a.cancel()
		a.wg.Wait()
		if conn := a.conn.Swap(nil); conn != nil {
			conn.Close()
		}
	})
	return nil
}

// Check asks polkit whether subject may perform actionID, passing details
// to the rules (action.lookup). It never lets polkit interact with a user.
// Only a Result with Authorized set allows; any error means polkit gave no
// decision and comes with the zero Result. Errors from the bus and polkitd
// wrap ErrUnavailable. Unless ctx ends earlier, Check waits at most
// Options.CallTimeout.
//
// Only root, or the user an action's org.freedesktop.policykit.owner
// annotation names, may pass details; polkitd refuses others.
func (a *Authority) Check(ctx context.Context, subject Subject, actionID string, details map[string]string) (Result, error) {
	if err := subject.validate(); err != nil {
		return Result{}, checkError(actionID, subject, err)
	}
	if actionID == "" {
		return Result{}, checkError(actionID, subject, errors.New("empty action id"))
	}
	conn := a.conn.Load()
	if conn == nil {
		return Result{}, checkError(actionID, subject, fmt.Errorf("%w: %w", ErrUnavailable, a.downErr()))
	}
	if details == nil {
		details = map[string]string{}
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.CallTimeout)
	defer cancel()
	call := conn.Object(busName, authorityPath).CallWithContext(ctx,
		authorityIface+".CheckAuthorization", 0,
		subject.wire(), actionID, details, uint32(0), "")
	if call.Err != nil {
		return Result{}, checkError(actionID, subject, a.callError(call.Err))
	}
	r, err := decodeResult(call.Body)
	if err != nil {
		return Result{}, checkError(actionID, subject, fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	return r, nil
}

func checkError(actionID string, subject Subject, err error) error {
	return fmt.Errorf("polkit: CheckAuthorization for %s (%s): %w", actionID, subject, err)
}

// callError wraps a failed call in ErrUnavailable, naming D-Bus errors
// (whose Error method gives only the message) and timeouts.
func (a *Authority) callError(err error) error {
	var derr dbus.Error
	switch {
	case errors.As(err, &derr):
		err = fmt.Errorf("%s: %w", derr.Name, err)
	case errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("no reply within %v: %w", a.opts.CallTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func (a *Authority) setDown(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.down = err
}

func (a *Authority) downErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down == nil {
		return errors.New("not connected")
	}
	return a.down
}
