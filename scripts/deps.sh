#!/usr/bin/env bash
# Install the Debian 12 packages Jetstream needs to build, test and run the
# demo, plus any package named as an argument (`make bench` adds nfdump).
# Idempotent: only missing packages are installed, so a second run is a no-op
# that needs no network.
set -euo pipefail

packages=(
	build-essential pkg-config
	dpdk dpdk-dev libdpdk-dev        # EAL, ethdev, rings, hash, rcu; net_pcap/af_packet/null PMDs
	libyaml-dev                      # configuration
	libsystemd-dev                   # sd_notify
	libmicrohttpd-dev                # the Prometheus metrics endpoint
	prometheus                       # tests: a real Prometheus scrapes the daemon; promtool
	curl                             # tests and bench: scrapes of /metrics
	check                            # unit tests
	libpcap-dev                      # pcap/pcapng reading in the pcap source
	libjansson-dev                   # control socket requests and replies (daemon and jetstreamctl)
	libsqlite3-dev sqlite3           # the sqlite sink format; tests query its database
	libfixbuf-dev                    # the ipfix sink format (IPFIX export)
	nfdump libfixbuf-tools           # tests: nfcapd/nfdump and ipfixDump read the IPFIX export
	libcurl4-openssl-dev             # the clickhouse sink format (HTTP interface)
	clickhouse-server clickhouse-client  # tests: a real ClickHouse (18.16) takes the inserts
	librdkafka-dev                   # the kafka sink format (and the tests' mock cluster)
	kcat                             # tests: read the Kafka topics back
	gobgpd                           # tests: a real GoBGP (gobgpd, and its CLI gobgp) takes examples/actions/blackhole.sh's routes
	tmux                             # jetstreamctl top, driven in a test
	python3                          # trace generator and test helpers
	iproute2 tcpreplay               # veth/netns live-capture test
	tshark                           # cross-checks in tests
	wireshark-common tcpdump         # tests: tcpdump selects packets (the filter kernel must select exactly what it selects; the history dumps' oracle), capinfos reads the dumps' comments
	clang libclang-rt-14-dev         # `make fuzz`: libFuzzer and the sanitizer runtimes for clang
	systemd man-db                   # the unit's tests: systemd-analyze verify/security (man pages)
	dpkg-dev util-linux              # `make deb` (dpkg-shlibdeps); setpriv, unshare for the sandbox test
	"$@"
)

missing=()
for package in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
