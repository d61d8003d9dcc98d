#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what the tests need on a fresh Debian 12 host (as root): the real
# components they run (dbus, polkitd, auditd, libvirt) and the tools they
# call. Safe to run again: it installs only what is missing.
set -eu

packages="
dbus-daemon polkitd
auditd
libvirt-daemon-system libvirt-clients libvirt-doc qemu-system-x86 dnsmasq-base
libxml2-utils
virt-manager xvfb imagemagick
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

# Without udev, /dev/kvm stays root:root 0600; libvirtd 9.0 then finds the
# QEMU capabilities it probed as root unusable for libvirt-qemu and probes
# again on every define (40-100 s each). Debian's udev rule makes it
# root:kvm 0660; do the same.
if [ -c /dev/kvm ] && getent group kvm >/dev/null &&
	[ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
	echo "setup-host: /dev/kvm root:kvm 0660, as udev would make it"
	chown root:kvm /dev/kvm
	chmod 0660 /dev/kvm
fi

# libvirt's protocol files, for the generated-code staleness test
# (libvirt/proto) and the framing checks (libvirt/frame).
"$(dirname "$0")/libvirt-source.sh" >/dev/null
