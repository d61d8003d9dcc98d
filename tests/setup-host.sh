#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what the tests need on a fresh Debian 12 host (as root): the real
# components they run (dbus, polkitd, auditd, libvirt) and the tools they
# call. Safe to run again: it installs only what is missing.
set -eu

packages="
dbus-daemon polkitd
auditd
libvirt-daemon-system libvirt-clients libvirt-doc qemu-system-x86
libxml2-utils
dpkg-dev debhelper devscripts fakeroot lintian rpm rpm2cpio rpmlint cpio systemd-container
"

missing=
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup-host: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# libvirt's protocol files, for the generated-code staleness test
# (libvirt/proto) and the framing checks (libvirt/frame).
"$(dirname "$0")/libvirt-source.sh" >/dev/null
