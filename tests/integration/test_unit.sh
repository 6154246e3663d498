#!/usr/bin/env bash
# The installed unit: `make install` into a DESTDIR (PREFIX=/usr/local), then
# `systemd-analyze verify` on it with that DESTDIR as the root (the binaries, the man
# pages of Documentation= and the README it names must be there), alone and with the
# PCI drop-in, and `systemd-analyze security --offline=true`, which must score an
# exposure of 2.0 or less. The unit must not check the configuration in ExecStartPre=
# (systemd would restart a bad configuration in a loop) and must keep exit 78 from
# restarts. Needs systemd-analyze (Debian's systemd package); no systemd needs to run.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || skip "systemd-analyze (package systemd) is not installed"
root="$work/root"
unit_path=/usr/local/lib/systemd/system/jetstreamd.service
unit="$root$unit_path"
make -C "$repo_root" --no-print-directory -s install DESTDIR="$root" PREFIX=/usr/local >"$work/install.log" ||
	{ cat "$work/install.log"; fail "make install failed"; }
# the units the service's dependencies name (multi-user.target, network-online.target, ...)
install -d "$root/usr/lib/systemd/system"
cp /lib/systemd/system/*.target /lib/systemd/system/*.slice "$root/usr/lib/systemd/system/" 2>/dev/null ||
	true

# verify_unit LABEL: systemd-analyze verify of the installed unit, with its drop-ins, in $root;
# it must print nothing (the binaries of ExecStart= and ExecReload= are installed there too).
verify_unit() {
	local label="$1" status=0
	MANPATH="$root/usr/local/share/man" systemd-analyze verify --root="$root" "$unit_path" \
		>"$work/verify.log" 2>&1 || status=$?
	[ ! -s "$work/verify.log" ] || { cat "$work/verify.log"; fail "$label: systemd-analyze verify complains (status $status)"; }
	[ "$status" -eq 0 ] || fail "$label: systemd-analyze verify exited $status"
	echo "  ok: $label: systemd-analyze verify is clean"
}

echo "checks: the unit names the installed paths (PREFIX=/usr/local) and no ExecStartPre="
grep -qx 'ExecStart=/usr/local/bin/jetstreamd -c /etc/jetstream/jetstreamd.yaml' "$unit" ||
	fail "ExecStart= is not /usr/local/bin/jetstreamd -c /etc/jetstream/jetstreamd.yaml"
grep -qx 'ExecReload=/usr/local/bin/jetstreamctl reload' "$unit" || fail "ExecReload= is not jetstreamctl reload"
grep -qx 'Documentation=file:///usr/local/share/doc/jetstream/README.md' "$unit" ||
	fail "Documentation= does not name the installed README"
[ -f "$root/usr/local/share/doc/jetstream/README.md" ] || fail "the README is not where Documentation= points"
! grep -q '^ExecStartPre=' "$unit" || fail "the unit has an ExecStartPre= (restart loop on a bad configuration)"
grep -qx 'RestartPreventExitStatus=78' "$unit" || fail "exit 78 is not kept from restarts"
! grep -q '@[A-Z]*@' "$unit" || fail "a template placeholder is left: $(grep '@[A-Z]*@' "$unit")"
echo "  ok: ExecStart=, ExecReload= and Documentation= under /usr/local, the README there, no ExecStartPre="

echo "checks: systemd-analyze verify (man pages on the installed MANPATH)"
verify_unit "jetstreamd.service"
install -D -m 0644 "$root/usr/local/share/doc/jetstream/jetstreamd-pci.conf" \
	"$root/etc/systemd/system/jetstreamd.service.d/pci.conf"
verify_unit "with the PCI drop-in"
rm -r "$root/etc/systemd/system/jetstreamd.service.d"

echo "checks: systemd-analyze security --offline=true: exposure 2.0 or less"
status=0
systemd-analyze security --offline=true --threshold=20 "$unit" >"$work/security.log" 2>&1 || status=$?
score="$(sed -n 's/^→ Overall exposure level for jetstreamd.service: \([0-9.]*\) .*/\1/p' "$work/security.log")"
[ -n "$score" ] || { cat "$work/security.log"; fail "no exposure level in the output"; }
awk -v score="$score" 'BEGIN { exit !(score <= 2.0) }' ||
	{ grep '✗' "$work/security.log"; fail "exposure $score is above 2.0"; }
[ "$status" -eq 0 ] || { cat "$work/security.log"; fail "systemd-analyze security exited $status"; }
echo "  ok: exposure $score (at most 2.0)"
