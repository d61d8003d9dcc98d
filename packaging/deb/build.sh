#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# deb/build.sh TARBALL OUTDIR: build the Debian source and binary packages
# from the source tarball (see ../source.sh) with this directory's debian/,
# and put the results in OUTDIR.
set -eu
tarball=${1:?usage: build.sh TARBALL OUTDIR}
out=${2:?usage: build.sh TARBALL OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
mkdir -p "$out"
out=$(cd "$out" && pwd)

base=$(basename "$tarball" .tar.gz) # virt-acl-helper-VERSION
version=${base#virt-acl-helper-}
work=$(mktemp -d "$out/.deb-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$tarball" "$work/virt-acl-helper_$version.orig.tar.gz"
tar -C "$work" -xzf "$tarball"
cp -r "$here/debian" "$work/$base/debian"

changelog=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
if [ "${changelog%-*}" != "$version" ]; then
	echo "deb/build.sh: debian/changelog is at $changelog but VERSION says $version: add a changelog entry (dch -v $version-1)" >&2
	exit 1
fi

# Share the caller's Go build cache: much faster, same result.
GOCACHE=${GOCACHE:-$(go env GOCACHE 2>/dev/null || true)}
[ -n "$GOCACHE" ] && export GOCACHE
# -d: Go comes from outside Debian's archive (see debian/control).
(cd "$work/$base" && dpkg-buildpackage -us -uc -d)
for f in "$work"/*.deb "$work"/*.ddeb "$work"/*.dsc "$work"/*.changes "$work"/*.buildinfo \
	"$work"/*.orig.tar.gz "$work"/*.debian.tar.*; do
	if [ -e "$f" ]; then cp "$f" "$out/" && echo "$out/$(basename "$f")"; fi
done
