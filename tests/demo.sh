#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The README's first command (make demo): on a fresh Debian 12 machine, as
# root, build the helper, start what it needs (a system bus, polkitd and
# auditd, unless already running), give two demo users a polkit rule, run
# the daemon, ask it a few questions as each user, and show the answers
# and their audit records. Everything it started or created is removed at
# the end; what was already there is left alone.
set -eu
cd "$(dirname "$0")/.."
bin=$PWD/bin/virt-acl-helper

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it starts system services)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- what we start or create, undone at exit ---------------------------------
work=$(mktemp -d /tmp/vah-demo.XXXXXX)
chmod 755 "$work"
pids="" files="" users="" audit_was=""
cleanup() {
	for pid in $pids; do kill "$pid" 2>/dev/null || true; done
	for pid in $pids; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
	for f in $files; do rm -f "$f"; done
	for u in $users; do userdel "$u" 2>/dev/null || true; done
	rm -rf "$work"
	# The kernel's audit flag as the demo found it.
	if [ -n "$audit_was" ]; then auditctl -e "$audit_was" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- packages ------------------------------------------------------------------
missing=""
for p in dbus-daemon polkitd auditd; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# --- a system bus and polkitd ----------------------------------------------
has_owner() {
	dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}
if ! has_owner org.freedesktop.DBus; then
	say "starting a system bus"
	mkdir -p /run/dbus && rm -f /run/dbus/pid
	pids="$(dbus-daemon --system --fork --print-pid) $pids"
fi

say "installing the polkit actions and a rule for the demo users alice and bob"
actions=/usr/share/polkit-1/actions
if [ ! -e "$actions/io.github.virt-acl-helper.policy" ]; then
	"$bin" actions --polkit --own > "$actions/io.github.virt-acl-helper.policy"
	files="$files $actions/io.github.virt-acl-helper.policy"
fi
if [ ! -e "$actions/org.libvirt.api.policy" ] && [ ! -e "$actions/io.github.virt-acl-helper.libvirt-api.policy" ]; then
	"$bin" actions --polkit > "$actions/io.github.virt-acl-helper.libvirt-api.policy"
	files="$files $actions/io.github.virt-acl-helper.libvirt-api.policy"
fi
for u in alice bob; do
	id -u "$u" >/dev/null 2>&1 || { useradd --no-create-home --shell /usr/sbin/nologin "$u"; users="$users $u"; }
done
rules=/etc/polkit-1/rules.d/50-virt-acl-helper-demo.rules
files="$files $rules"
tee "$rules" <<'RULES'
// alice may start, stop and open the console of her own VM; bob nothing.
polkit.addRule(function(action, subject) {
    var mine = ["org.libvirt.api.domain.start", "org.libvirt.api.domain.stop",
                "org.libvirt.api.domain.open-graphics"];
    if (subject.user == "alice" && mine.indexOf(action.id) >= 0 &&
        action.lookup("domain_name") == "alice-vm")
        return polkit.Result.YES;
    return polkit.Result.NOT_HANDLED;
});
RULES

if ! has_owner org.freedesktop.PolicyKit1; then
	say "starting polkitd"
	/usr/lib/polkit-1/polkitd --no-debug >"$work/polkitd.log" 2>&1 &
	pids="$! $pids"
	for _ in $(seq 50); do has_owner org.freedesktop.PolicyKit1 && break; sleep 0.1; done
fi
sleep 0.5 # let polkitd load the new rule

# --- auditd ---------------------------------------------------------------------
if ! pgrep -x auditd >/dev/null; then
	say "starting auditd"
	if auditd 2>"$work/auditd.log"; then
		sleep 0.5
		pids="$(pgrep -x auditd) $pids"
	else
		echo "(auditd could not start here; decisions are still answered, records are not kept)"
	fi
fi
audit_was=$(auditctl -s 2>/dev/null | sed -n 's/^enabled \([01]\)$/\1/p')
auditctl -e 1 >/dev/null 2>&1 || true

# --- the daemon -----------------------------------------------------------------
say "starting virt-acl-helper serve"
sock=$work/virt-acl-helper.sock
printf 'access_drivers = [ "polkit" ]\naudit_level = 1\nlog_level = 2\n' > "$work/demo.conf"
chmod 600 "$work/demo.conf"
"$bin" serve --listen "$sock" --config "$work/demo.conf" 2>"$work/daemon.log" &
daemon=$!
pids="$daemon $pids"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
since=$(date '+%x %T')

# --- questions ------------------------------------------------------------------
vm() { echo "--name $1 --uuid $2"; }
alice_vm=$(vm alice-vm a11ce000-0000-4000-8000-000000000001)
bob_vm=$(vm bob-vm b0b00000-0000-4000-8000-000000000002)
ask() { # user, then the command's arguments; prints the answer and exit status
	user=$1; shift
	printf '%-6s %-44s -> ' "$user" "$(echo "$*" | sed 's/ --uuid [^ ]*//')"
	set -- env VIRT_ACL_HELPER_SOCKET="$sock" "$bin" "$@"
	[ "$user" = root ] || set -- setpriv --reuid="$user" --regid="$user" --clear-groups "$@"
	rc=0
	out=$("$@" 2>&1) || rc=$?
	printf '%s [exit %d]\n' "$(echo "$out" | head -1 | cut -c1-90)" "$rc"
}
say "asking (exit status of check: 0 allowed, 1 denied, 2 error)"
# shellcheck disable=SC2086
{
	ask alice check domain start $alice_vm
	ask alice check domain open_graphics $alice_vm
	ask alice check domain start $alice_vm
	ask alice check domain start $bob_vm
	ask bob check domain start $alice_vm
	ask bob check domain getattr $alice_vm
	ask bob check domain fly $alice_vm
	ask bob stats
	ask root flush
}
say "root reads the counters"
VIRT_ACL_HELPER_SOCKET=$sock "$bin" stats

say "the audit records of these decisions (ausearch -m USER_AVC -p $daemon)"
sleep 0.5
# shellcheck disable=SC2086
ausearch -m USER_AVC -ts $since -p "$daemon" 2>/dev/null | grep -v '^----' ||
	echo "(no audit records: auditd is not running here)"
