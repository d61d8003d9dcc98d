// SPDX-License-Identifier: Apache-2.0

// Package engine builds the helper's running decision engine from the
// configuration and replaces it whole when the configuration is reloaded.
//
// A Generation is what one configuration builds: the polkit authority,
// the access drivers, the decision cache, the auditor, the access.Engine
// that ties them together, and the Authorizer of the helper's own polkit
// actions. A Runtime holds the current generation. Every front end (the
// varlink server, and in time a libvirt-protocol guard) asks it for the
// generation to use, once per request, and Reload is the one place it
// changes: a reload never leaves two front ends on different
// configurations for longer than a request.
package engine
