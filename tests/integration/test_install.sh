#!/usr/bin/env bash
# `make install` with PREFIX and DESTDIR: every file lands under DESTDIR, below PREFIX
# or /etc/jetstream; the unit names PREFIX's binaries; the installed jetstreamd prints
# its version; a changed file under /etc/jetstream is kept on a second install, with
# the new version beside it as FILE.dist; `make uninstall` leaves only /etc/jetstream.
# Then the installed default configuration runs as the service would start it: as
# root in a network namespace of its own (its loopback is the one the default
# pipeline reads), it counts the datagrams sent there exactly.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

root="$work/root"
prefix=/opt/jetstream
version="$(cat "$repo_root/VERSION")"
install_into() {
	make -C "$repo_root" --no-print-directory -s install DESTDIR="$root" PREFIX="$prefix" \
		>"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "make install failed"; }
}

echo "checks: make install DESTDIR=... PREFIX=$prefix: every file below PREFIX or /etc/jetstream"
install_into
installed_files() {
	find "$root" -type f | sed "s|^$root||"
}
stray="$(installed_files | grep -v -e "^$prefix/" -e '^/etc/jetstream/' || true)"
[ -z "$stray" ] || fail "files installed outside $prefix and /etc/jetstream: $stray"
for file in bin/jetstreamd lib/systemd/system/jetstreamd.service lib/sysusers.d/jetstream.conf \
	lib/tmpfiles.d/jetstream.conf share/doc/jetstream/README.md share/doc/jetstream/jetstreamd-pci.conf \
	share/man/man8/jetstreamd.8 share/man/man8/jetstreamctl.8 share/man/man5/jetstream-pipeline.5; do
	[ -f "$root$prefix/$file" ] || fail "$prefix/$file is not installed"
done
for file in jetstreamd.yaml pipelines/main.yaml; do
	[ -f "$root/etc/jetstream/$file" ] || fail "/etc/jetstream/$file is not installed"
done
grep -qx "ExecStart=$prefix/bin/jetstreamd -c /etc/jetstream/jetstreamd.yaml" \
	"$root$prefix/lib/systemd/system/jetstreamd.service" || fail "the unit's ExecStart= does not name $prefix/bin"
grep -qx "Documentation=file://$prefix/share/doc/jetstream/README.md" \
	"$root$prefix/lib/systemd/system/jetstreamd.service" || fail "the unit's Documentation= does not name $prefix"
grep -qx "prefix=$prefix" "$root$prefix/lib/pkgconfig/jetstream-kernel.pc" || fail "the .pc file's prefix is not $prefix"
[ -x "$root$prefix/bin/jetstreamctl" ] || fail "jetstreamctl was not installed"
printed="$("$root$prefix/bin/jetstreamd" --version)" || fail "jetstreamd --version exited $?"
[ "$printed" = "jetstreamd $version" ] || fail "jetstreamd --version printed '$printed', not 'jetstreamd $version'"
echo "  ok: $(installed_files | wc -l) files in place; '$printed'"

echo "checks: a second install keeps a changed settings file and writes FILE.dist beside it"
echo "# the operator's edit" >>"$root/etc/jetstream/jetstreamd.yaml"
cp "$root/etc/jetstream/jetstreamd.yaml" "$work/edited.yaml"
install_into
cmp -s "$work/edited.yaml" "$root/etc/jetstream/jetstreamd.yaml" || fail "the edited jetstreamd.yaml was overwritten"
cmp -s "$repo_root/conf/jetstreamd.yaml" "$root/etc/jetstream/jetstreamd.yaml.dist" ||
	fail "jetstreamd.yaml.dist is not the new version"
[ ! -e "$root/etc/jetstream/pipelines/main.yaml.dist" ] || fail "an unchanged main.yaml got a .dist copy"
grep -q "kept /.*/etc/jetstream/jetstreamd.yaml; the new version is .*jetstreamd.yaml.dist" "$work/install.log" ||
	{ cat "$work/install.log"; fail "make install did not say it kept the file"; }
echo "  ok: the edit is kept, jetstreamd.yaml.dist is the new version, main.yaml (unchanged) has no .dist"

echo "checks: the installed default configuration starts and counts loopback datagrams exactly"
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "  skipped: needs root and ip (a network namespace, CAP_NET_RAW)"
else
	namespace="jetstream-install-$$"
	ip netns add "$namespace" || fail "cannot create a network namespace"
	at_exit "ip netns delete '$namespace' 2>/dev/null"
	ip -n "$namespace" link set lo up
	# the installed files, with the paths moved into the test's directory: the pipeline
	# from DESTDIR, the control socket here, no metrics port
	sed -e "s|/etc/jetstream/pipelines/main.yaml|$root/etc/jetstream/pipelines/main.yaml|" \
		"$repo_root/conf/jetstreamd.yaml" >"$work/settings.yaml"
	printf 'control_socket: %s\nmetrics: off\n' "$work/control.sock" >>"$work/settings.yaml"
	mkdir "$work/state"
	start_notify_listener
	(cd "$work/state" && exec ip netns exec "$namespace" "$root$prefix/bin/jetstreamd" -c "$work/settings.yaml") \
		2>"$work/stderr" &
	running_pid=$!
	wait_ready 20
	datagrams=250
	ip netns exec "$namespace" python3 -c '
import socket, sys
receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.bind(("127.0.0.1", 0))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[1])):
    sender.sendto(b"jetstream", receiver.getsockname())
    receiver.recv(64)
' "$datagrams"
	sleep 0.5
	kill -TERM "$running_pid"
	wait_exit 20
	[ "$exit_status" -eq 0 ] || { cat "$work/stderr"; fail "exit status $exit_status after SIGTERM"; }
	# af_packet on lo sees each datagram twice: as sent and as received
	records_tool totals "$work/state/counts.jsonl" count >"$work/counts.tsv"
	expected="$(printf '127.0.0.1\t%d\t%d' $((2 * datagrams)) $((2 * datagrams * (14 + 20 + 8 + 9))))"
	[ "$(cat "$work/counts.tsv")" = "$expected" ] ||
		{ cat "$work/stderr" "$work/counts.tsv"; fail "counts.jsonl does not hold $expected"; }
	echo "  ok: $datagrams datagrams on lo: 127.0.0.1 counted $((2 * datagrams)) times (sent and received) in counts.jsonl"
fi

echo "checks: make uninstall leaves only /etc/jetstream"
make -C "$repo_root" --no-print-directory -s uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null
left="$(installed_files | grep -v '^/etc/jetstream/' || true)"
[ -z "$left" ] || fail "make uninstall left: $left"
echo "  ok: only the settings under /etc/jetstream remain"
