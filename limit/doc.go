// SPDX-License-Identifier: Apache-2.0

// Package limit bounds what one local user can make a front end do, so
// that one user cannot exhaust what every user shares: the decisions (and
// the audit records) it asks for per second (Rate), the connections it
// holds (Conns), and the polkit calls in flight on its behalf (Fair).
//
// Limits are per uid, the identity the kernel vouches for. Privileged
// callers (root, proxies) are the front end's to exempt: they speak for
// many users and are expected to limit their own clients. Every type is
// safe for concurrent use.
package limit
