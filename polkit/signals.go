// SPDX-License-Identifier: Apache-2.0

package polkit

import (
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"
)

const (
	busName        = "org.freedesktop.PolicyKit1"
	authorityPath  = dbus.ObjectPath("/org/freedesktop/PolicyKit1/Authority")
	authorityIface = "org.freedesktop.PolicyKit1.Authority"

	dbusName  = "org.freedesktop.DBus"
	dbusIface = "org.freedesktop.DBus"
)

// matchRules are the signals an Authority subscribes to on every
// connection. The bus resolves sender=org.freedesktop.PolicyKit1 to the
// name's current owner when it delivers.
func matchRules() [][]dbus.MatchOption {
	return [][]dbus.MatchOption{{
		dbus.WithMatchSender(busName),
		dbus.WithMatchObjectPath(authorityPath),
		dbus.WithMatchInterface(authorityIface),
		dbus.WithMatchMember("Changed"),
	}, {
		dbus.WithMatchSender(dbusName),
		dbus.WithMatchInterface(dbusIface),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, busName),
	}}
}

// signalHandler turns the signals of one connection into events. godbus
// calls DeliverSignal on its dispatch goroutine, so it must not block.
type signalHandler struct {
	events *eventQueue

	mu         sync.Mutex
	owner      string // unique name owning busName; "" when none
	ownerKnown bool
}

// DeliverSignal implements dbus.SignalHandler.
func (h *signalHandler) DeliverSignal(iface, member string, sig *dbus.Signal) {
	if ev, ok := h.classify(iface, member, sig); ok {
		h.events.push(ev)
	}
}

func (h *signalHandler) classify(iface, member string, sig *dbus.Signal) (Event, bool) {
	switch {
	case iface == dbusIface && member == "NameOwnerChanged" && sig.Sender == dbusName:
		return h.ownerChanged(sig.Body)
	case iface == authorityIface && member == "Changed" && sig.Path == authorityPath:
		if !h.fromOwner(sig.Sender) {
			return Event{}, false
		}
		return Event{Reason: PolicyChanged, Detail: changedDetail(sig.Body)}, true
	}
	return Event{}, false
}

// ownerChanged handles NameOwnerChanged(name, old owner, new owner).
func (h *signalHandler) ownerChanged(body []any) (Event, bool) {
	var name, old, owner string
	if dbus.Store(body, &name, &old, &owner) != nil || name != busName {
		return Event{}, false
	}
	h.mu.Lock()
	h.owner, h.ownerKnown = owner, true
	h.mu.Unlock()
	detail := fmt.Sprintf("%s owner %s -> %s", busName, orNone(old), orNone(owner))
	return Event{Reason: OwnerChanged, Detail: detail}, true
}

// fromOwner reports whether a Changed signal may come from polkitd.
// Anyone may send a signal straight to our connection; while the owner is
// unknown it is accepted, since a spurious event only costs a cache flush
// and a missed one would keep stale decisions.
func (h *signalHandler) fromOwner(sender string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.ownerKnown || sender == h.owner
}

// initOwner records the owner found by GetNameOwner, unless a
// NameOwnerChanged signal already told a newer one.
func (h *signalHandler) initOwner(owner string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ownerKnown {
		h.owner, h.ownerKnown = owner, true
	}
}

// changedDetail reads Changed's optional argument (polkit >= 125).
func changedDetail(body []any) string {
	if len(body) == 0 {
		return "polkit authority changed"
	}
	kind, ok := body[0].(uint16)
	switch {
	case !ok:
		return fmt.Sprintf("polkit authority changed (%v)", body[0])
	case kind == 0:
		return "polkit authority changed (0: policy)"
	case kind == 1:
		return "polkit authority changed (1: sessions)"
	default:
		return fmt.Sprintf("polkit authority changed (%v)", body[0])
	}
}

func orNone(name string) string {
	if name == "" {
		return "(none)"
	}
	return name
}
