#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rpm/build.sh TARBALL OUTDIR: build the binary rpm from the source tarball
# (see ../source.sh) with virt-acl-helper.spec, into OUTDIR.
set -eu
tarball=${1:?usage: build.sh TARBALL OUTDIR}
out=${2:?usage: build.sh TARBALL OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
base=$(basename "$tarball" .tar.gz) # virt-acl-helper-VERSION
version=${base#virt-acl-helper-}

top=$(mktemp -d "$out/.rpm-build.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SOURCES"
cp "$tarball" "$top/SOURCES/"

# The spec's %changelog must have an entry for this version.
if ! sed -n '/^%changelog/,$p' "$here/virt-acl-helper.spec" | grep -q -- "- $version-"; then
	echo "rpm/build.sh: virt-acl-helper.spec has no %changelog entry for $version" >&2
	exit 1
fi

# --nodeps: where rpm is not the system's package manager (Debian), its
# database is empty and no BuildRequires can be met.
nodeps=
if ! rpm -q rpm >/dev/null 2>&1; then nodeps=--nodeps; fi
rpmbuild -bb $nodeps \
	--define "_topdir $top" \
	--define "vah_version $version" \
	"$here/virt-acl-helper.spec"
for f in "$top"/RPMS/*/*.rpm; do
	cp "$f" "$out/" && echo "$out/$(basename "$f")"
done
