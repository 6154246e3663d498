#!/usr/bin/env bash
# `make deb`, then the package on this machine: `apt-get install ./jetstream_*.deb`
# puts the files where the unit expects them, creates the jetstream user and
# /var/lib/jetstream, enables the unit without starting it, and the unit passes
# `systemd-analyze verify` there; `jetstreamd --version` works from /usr/bin. `dpkg -r`
# removes the files but keeps the conffiles; `dpkg --purge` removes those and the
# enablement. Everything the test installs is removed at exit (the user too, when the
# test made it). Needs root, apt-get, dpkg-deb and dpkg-shlibdeps (dpkg-dev); skipped
# when a jetstream package is installed already.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
for tool in apt-get dpkg-deb dpkg-shlibdeps; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
! dpkg-query -W -f='${Status}' jetstream 2>/dev/null | grep -q 'installed' ||
	skip "a jetstream package is installed on this machine already; not touching it"

version="$(cat "$repo_root/VERSION")"
architecture="$(dpkg --print-architecture)"
package="$repo_root/build/jetstream_${version}_${architecture}.deb"
wants=/etc/systemd/system/multi-user.target.wants/jetstreamd.service
unit=/usr/lib/systemd/system/jetstreamd.service

echo "checks: make deb builds $(basename "$package") with conffiles and library dependencies"
make -C "$repo_root" --no-print-directory -s deb >"$work/deb.log" 2>&1 || { cat "$work/deb.log"; fail "make deb failed"; }
[ -f "$package" ] || fail "make deb made no $package"
# DPDK is linked in: no librte-* package, but the libraries its drivers use (af_xdp, pcap, mlx5)
depends="$(dpkg-deb -f "$package" Depends)"
for library in libxdp1 libpcap0.8 libibverbs1 'dpdk (>= 22.11)'; do
	grep -qF "$library" <<<"$depends" || fail "Depends lacks $library: $depends"
done
! grep -q 'librte-' <<<"$depends" || fail "Depends names a DPDK library package, which DPDK linked in needs not: $depends"
dpkg-deb -f "$package" Depends | grep -q 'libyaml-0-2' || fail "Depends lacks libyaml"
conffiles="$(dpkg-deb -I "$package" conffiles)"
[ "$conffiles" = "/etc/jetstream/jetstreamd.yaml
/etc/jetstream/pipelines/main.yaml" ] || fail "conffiles are: $conffiles"
echo "  ok: Depends: $(dpkg-deb -f "$package" Depends | cut -c1-70)...; conffiles: the two files under /etc/jetstream"

user_existed=false
getent passwd jetstream >/dev/null && user_existed=true
state_existed=false
[ -e /var/lib/jetstream ] && state_existed=true
cleanup() {
	dpkg --purge jetstream >/dev/null 2>&1 || true
	if ! "$user_existed" && getent passwd jetstream >/dev/null; then
		userdel jetstream 2>/dev/null || true
		groupdel jetstream 2>/dev/null || true
	fi
	"$state_existed" || rm -rf /var/lib/jetstream
}
at_exit cleanup

echo "checks: apt-get install ./$(basename "$package"): files in place, user, state directory, enabled"
apt-get install -y -qq -o DPkg::Lock::Timeout=120 "$package" >"$work/apt.log" 2>&1 ||
	{ cat "$work/apt.log"; fail "apt-get install failed"; }
for file in /usr/bin/jetstreamd /usr/bin/jetstreamctl "$unit" /usr/lib/sysusers.d/jetstream.conf /usr/lib/tmpfiles.d/jetstream.conf \
	/usr/share/doc/jetstream/README.md /usr/share/doc/jetstream/jetstreamd-pci.conf \
	/usr/share/man/man8/jetstreamd.8.gz /usr/share/man/man8/jetstreamctl.8.gz \
	/usr/share/man/man5/jetstream-pipeline.5.gz /etc/jetstream/jetstreamd.yaml /etc/jetstream/pipelines/main.yaml; do
	[ -f "$file" ] || fail "$file is not installed"
done
grep -qx 'ExecStart=/usr/bin/jetstreamd -c /etc/jetstream/jetstreamd.yaml' "$unit" || fail "ExecStart= is not /usr/bin/jetstreamd"
grep -qx 'Documentation=file:///usr/share/doc/jetstream/README.md' "$unit" || fail "Documentation= is not the installed README"
printed="$(/usr/bin/jetstreamd --version)"
[ "$printed" = "jetstreamd $version" ] || fail "/usr/bin/jetstreamd --version printed '$printed'"
getent passwd jetstream >/dev/null || fail "no jetstream user"
getent group jetstream >/dev/null || fail "no jetstream group"
owner="$(stat -c '%U:%G %a' /var/lib/jetstream)"
[ "$owner" = "jetstream:jetstream 750" ] || fail "/var/lib/jetstream is $owner, not jetstream:jetstream 750"
# (/lib is /usr/lib on Debian 12: the link may name either)
[ -L "$wants" ] || fail "the unit is not enabled: no $wants"
[ "$(readlink -f "$wants")" = "$(readlink -f "$unit")" ] || fail "$wants -> $(readlink "$wants"), not the unit"
echo "  ok: files in place, '$printed', user and group jetstream, /var/lib/jetstream $owner, enabled"

echo "checks: systemd-analyze verify on the installed unit (binaries and man pages of the package)"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || true
	[ ! -s "$work/verify.log" ] || { cat "$work/verify.log"; fail "systemd-analyze verify complains"; }
	echo "  ok: systemd-analyze verify is clean"
else
	echo "  skipped: systemd-analyze is not installed"
fi

echo "checks: dpkg -r removes the files and keeps the conffiles; dpkg --purge removes the rest"
dpkg -r jetstream >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r failed"; }
for file in /usr/bin/jetstreamd "$unit" /usr/share/doc/jetstream/README.md /usr/share/man/man8/jetstreamd.8.gz \
	/usr/lib/sysusers.d/jetstream.conf /usr/include/jetstream/kernel.h; do
	[ ! -e "$file" ] || fail "$file is left after dpkg -r"
done
[ -f /etc/jetstream/jetstreamd.yaml ] || fail "dpkg -r removed the conffile /etc/jetstream/jetstreamd.yaml"
dpkg --purge jetstream >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge failed"; }
[ ! -e /etc/jetstream ] || fail "/etc/jetstream is left after the purge: $(find /etc/jetstream)"
[ ! -L "$wants" ] || fail "$wants is left after the purge"
[ ! -L /etc/systemd/system/jetstreamd.service ] || fail "a mask of the unit is left after the purge"
! dpkg-query -W jetstream >/dev/null 2>&1 || fail "dpkg still knows the package after the purge"
echo "  ok: removed, then purged: no file, conffile or enablement left"
