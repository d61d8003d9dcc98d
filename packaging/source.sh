#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# source.sh OUTDIR: write OUTDIR/virt-acl-helper-VERSION.tar.gz, the one
# source tarball both packages build from: the project's files as the
# working tree has them (tracked and untracked, not ignored) plus vendor/,
# the Go modules from "go mod vendor", so that package builds need no
# network. VERSION comes from the VERSION file.
set -eu
out=${1:?usage: source.sh OUTDIR}
top=$(git rev-parse --show-toplevel)
version=$(cat "$top/VERSION")
name=virt-acl-helper-$version
go=${GO:-go}

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cd "$top"
mkdir -p "$stage/$name"
# Files deleted in the working tree are still listed as cached: drop them.
git ls-files -z --cached --others --exclude-standard |
	xargs -0 -r sh -c 'for f do [ -e "$f" ] && printf "%s\0" "$f"; done; :' sh |
	tar --null -T - -cf - | tar -C "$stage/$name" -xf -
(cd "$stage/$name" && GOFLAGS=-mod=mod "$go" mod vendor)
# A stable tarball for the same tree: sorted, owned by root, dated by VERSION.
mtime=$(git log -1 --format=%cI -- VERSION 2>/dev/null || true)
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
	--mtime="${mtime:-1970-01-01}" --format=gnu -cf - "$name" |
	gzip -9n >"$out/$name.tar.gz"
echo "$out/$name.tar.gz"
