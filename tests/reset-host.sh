#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Put this host back in a fresh machine's state, as far as the tests can
# tell, so that "tests/reset-host.sh && make check" is a new contributor's
# first run (as root):
#
#   - the daemons the tests and the demo run are stopped: auditd, polkitd,
#     dbus-daemon, libvirtd and its helpers, virt-acl-helper, guests;
#   - the kernel's audit settings are at their boot defaults (no rules,
#     enabled as the kernel command line says, backlog limit 64, wait
#     time 60 s, no rate limit, failure mode printk, counters zeroed);
#   - test and demo users, polkit rules, test VMs, the audit log, and the
#     tests' temporary files and locks are removed;
#   - /dev/kvm is root:root 0600 again, as it is without udev.
#
# Installed packages stay (tests/setup-host.sh installs only what is
# missing, so it would put them back); so do Go's caches. It stops every
# process of those names, whoever started it: run it on a test machine,
# not on a host that serves anything.
set -u

[ "$(id -u)" = 0 ] || { echo "reset-host: run as root" >&2; exit 1; }

say() { echo "reset-host: $*"; }

# stop NAME...: TERM every process with that exact name, then KILL what
# is left after 5 s.
stop() {
	for name do
		pkill -TERM -x "$name" 2>/dev/null && say "stopping $name"
	done
	i=0
	while [ $i -lt 50 ]; do
		left=
		for name do
			pgrep -x "$name" >/dev/null 2>&1 && left="$left $name"
		done
		[ -z "$left" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	say "killing$left"
	for name in $left; do pkill -KILL -x "$name" 2>/dev/null; done
}

# Users of the daemons first, then the daemons they talk to.
stop virt-acl-helper
stop qemu-system-x86_64 qemu-system-x86
stop libvirtd virtqemud virtproxyd virtnetworkd virtstoraged virtlogd virtlockd
stop polkitd
stop dbus-daemon
stop auditd
rm -f /run/dbus/pid /run/dbus/system_bus_socket /run/libvirt/libvirtd.pid \
	/run/libvirt/qemu/driver.pid 2>/dev/null

# The kernel's audit state, at its boot defaults (kernel/audit.c): enabled
# only with audit=1 on the command line, backlog_limit 64,
# backlog_wait_time 60 s (60 * HZ; auditctl takes it in jiffies, and the
# kernel reports its boot value in the same unit), rate_limit 0, failure 1.
if command -v auditctl >/dev/null 2>&1; then
	enabled=0
	grep -qw 'audit=1' /proc/cmdline && enabled=1
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	# CLK_TCK is USER_HZ (100), not the kernel's HZ: take HZ from the
	# kernel config when it is there.
	if [ -r "/boot/config-$(uname -r)" ]; then
		hz=$(sed -n 's/^CONFIG_HZ=//p' "/boot/config-$(uname -r)")
	elif [ -r /proc/config.gz ]; then
		hz=$(zcat /proc/config.gz | sed -n 's/^CONFIG_HZ=//p')
	fi
	auditctl -D >/dev/null
	auditctl -e "$enabled" -b 64 --backlog_wait_time $((60 * ${hz:-250})) \
		-r 0 -f 1 >/dev/null
	auditctl --reset-lost >/dev/null
	auditctl --reset_backlog_wait_time_actual >/dev/null 2>&1
	say "kernel audit: $(auditctl -s | tr '\n' ' ')"
fi
# A fresh auditd package has an empty log.
rm -f /var/log/audit/audit.log /var/log/audit/audit.log.[0-9]*

# Test users (internal/testsys and tests/ mark them in the comment field;
# groups the tests created go with their users or stay empty) and the
# demo's users (tests/demo.sh removes them itself unless it was killed).
getent passwd | while IFS=: read -r name _ _ _ gecos _; do
	case $gecos in
	"virt-acl-helper test user"*)
		pkill -KILL -u "$name" 2>/dev/null
		userdel "$name" 2>/dev/null && say "removed user $name"
		;;
	esac
done
for name in alice bob; do
	# Only the demo's: no home directory and nologin, as demo.sh made them.
	if getent passwd "$name" | grep -q ':/usr/sbin/nologin$'; then
		userdel "$name" 2>/dev/null && say "removed demo user $name"
	fi
done

# polkit rules the tests and the demo write.
rm -f /etc/polkit-1/rules.d/50-vah-test-p*.rules \
	/etc/polkit-1/rules.d/50-virt-acl-helper-demo.rules

# VMs the tests define in qemu:///system are named vah-*; libvirtd is
# stopped, so removing their definitions is all it takes. (Tests also
# remove what a killed run of theirs left, before they start.)
rm -f /etc/libvirt/qemu/vah-*.xml /var/lib/libvirt/qemu/vah-* 2>/dev/null
rm -rf /var/lib/libvirt/qemu/domain-*-vah-* /run/libvirt/qemu/vah-* 2>/dev/null
# Networks, pools, secrets and filters the guard's tests define (vah-*).
for dir in /etc/libvirt/qemu/networks /etc/libvirt/storage /etc/libvirt/nwfilter; do
	rm -f "$dir"/vah-*.xml "$dir"/autostart/vah-*.xml 2>/dev/null
done
rm -rf /run/libvirt/network/vah-* /var/lib/libvirt/network/vah-* /run/libvirt/storage/vah-* 2>/dev/null
# A pool of any name whose directory is a test's (an older test defined
# pool "default" there; the XML corpus names it): its directory is
# removed below, and libvirt would keep an inactive pool in its way.
for f in /etc/libvirt/storage/*.xml; do
	[ -f "$f" ] && grep -q "<path>${TMPDIR:-/tmp}/vah-" "$f" || continue
	rm -f "$f" /etc/libvirt/storage/autostart/"$(basename "$f")"
done

# The tests' temporary directories and locks.
tmp=${TMPDIR:-/tmp}
rm -rf "$tmp"/vah-* "$tmp"/virt-acl-helper-*.lock 2>/dev/null

# libvirt's protocol files (tests/libvirt-source.sh) and the deb-src
# entry it added.
rm -rf "${VIRT_ACL_HELPER_LIBVIRT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virt-acl-helper}"
rm -f /etc/apt/sources.list.d/virt-acl-helper-src.sources

# What udev would do is setup-host's job: a fresh machine has none.
if [ -c /dev/kvm ]; then
	chown root:root /dev/kvm && chmod 0600 /dev/kvm
fi
say "done"
