#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fetch the libvirt protocol sources the generated RPC code derives from
# (libvirt/proto) and the framing checks (libvirt/frame): Debian 12's
# libvirt 9.0.0 source package, reduced to src/remote/*_protocol.x,
# src/rpc/virnetprotocol.x, src/rpc/virkeepaliveprotocol.x,
# src/rpc/gendispatch.pl (for reference), include/libvirt/*.h and
# libvirt-common.h.in. These are LGPL files from elsewhere and are never
# committed here.
#
# Prints the directory holding them. The result is cached: a second run
# prints the directory and touches nothing. Adding the deb-src entry and
# running apt-get update need root; nothing else does.
#
#   tests/libvirt-source.sh            # cache under $XDG_CACHE_HOME or ~/.cache
#   VIRT_ACL_HELPER_LIBVIRT_CACHE=/var/cache/x tests/libvirt-source.sh
set -eu

version=9.0.0
cache=${VIRT_ACL_HELPER_LIBVIRT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virt-acl-helper}
dest=$cache/libvirt-$version

# The files the cache must hold; a cache from an older version of this
# script that lacks one is fetched again.
need="src/remote/remote_protocol.x src/remote/qemu_protocol.x src/remote/lxc_protocol.x
src/rpc/virnetprotocol.x src/rpc/virkeepaliveprotocol.x include/libvirt/libvirt-common.h.in .complete"
complete=yes
for f in $need; do
	[ -f "$dest/$f" ] || complete=no
done
if [ $complete = yes ]; then
	echo "$dest"
	exit 0
fi

log() { echo "libvirt-source: $*" >&2; }

# A deb-src entry for bookworm, added only if apt knows no libvirt source.
if ! apt-cache showsrc libvirt 2>/dev/null | grep -q "^Version: $version-"; then
	list=/etc/apt/sources.list.d/virt-acl-helper-src.sources
	if [ ! -f "$list" ]; then
		log "adding $list"
		cat >"$list" <<'EOF'
# Added by virt-acl-helper's tests/libvirt-source.sh: libvirt's protocol files.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	fi
	log "apt-get update"
	apt-get update -q >&2
fi

debver=$(apt-cache showsrc libvirt | sed -n "s/^Version: \($version-.*\)/\1/p" | sort -V | tail -n 1)
if [ -z "$debver" ]; then
	log "no libvirt $version source package in apt's sources"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/libvirt-source.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "fetching libvirt $debver"
(cd "$work" && apt-get source -q --download-only "libvirt=$debver" >&2)
# dpkg-source applies Debian's patches, as the built libvirtd has them.
(cd "$work" && dpkg-source --no-check -x libvirt_*.dsc src >&2)

mkdir -p "$cache"
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp/src/remote" "$dest.tmp/src/rpc" "$dest.tmp/include/libvirt"
cp "$work"/src/src/remote/*_protocol.x "$dest.tmp/src/remote/"
cp "$work"/src/src/rpc/virnetprotocol.x "$work"/src/src/rpc/virkeepaliveprotocol.x \
	"$work"/src/src/rpc/gendispatch.pl "$dest.tmp/src/rpc/"
cp "$work"/src/include/libvirt/*.h "$work"/src/include/libvirt/*.h.in "$dest.tmp/include/libvirt/"
cp "$work"/src/COPYING.LESSER "$dest.tmp/"
echo "$debver" >"$dest.tmp/.complete"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
log "libvirt $debver protocol files in $dest"
echo "$dest"
