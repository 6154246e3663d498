#!/bin/sh
# Remotely triggered blackhole for jetstreamd's `format: exec` sink: on an
# alert's start, announce ALERT_KEY as a /32 (or /128) with the blackhole
# community through GoBGP's CLI; on its end, withdraw it. Updates do nothing.
#
#   act:
#     type: sink
#     input: ddos                # a threshold with `alerts: lifecycle`
#     format: exec
#     command: [/usr/share/doc/jetstream/examples/actions/blackhole.sh]
#
# GoBGP's gobgpd announces the routes to its neighbours (the upstream
# routers that drop traffic to 65535:666, RFC 7999). The knobs below may be
# set in the environment instead (the daemon's environment reaches the
# script: a systemd drop-in's Environment= lines).
set -eu

# Prefixes never blackholed, whatever the alert (space separated, IPv4 and IPv6).
never="${BLACKHOLE_NEVER:-10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 127.0.0.0/8 fe80::/10}"
# At most this many routes in GoBGP's global RIB (IPv4 and IPv6); past it, no announcement.
max_routes="${BLACKHOLE_MAX_ROUTES:-100}"
community="${BLACKHOLE_COMMUNITY:-65535:666}"
gobgp="${BLACKHOLE_GOBGP:-gobgp}"
# GoBGP's gRPC API.
api_host="${BLACKHOLE_API_HOST:-127.0.0.1}"
api_port="${BLACKHOLE_API_PORT:-50051}"
# Held while counting and announcing, so actions running at once cannot pass the maximum.
lock="${BLACKHOLE_LOCK:-${TMPDIR:-/tmp}/jetstream-blackhole.lock}"

say() { echo "blackhole: $*" >&2; }

: "${ALERT_KEY:?not run by jetstreamd: ALERT_KEY is unset}"
state="${ALERT_STATE:-}"
[ "$state" = start ] || [ "$state" = end ] || exit 0 # an update, or an alert without a lifecycle

# the address's family and prefix, and the never-blackholed prefix it is in, if any
# shellcheck disable=SC2086 # $never is split into its prefixes on purpose
# (a failure here must fail the action: an end that withdraws nothing would leave the route)
classified=$(python3 - "$ALERT_KEY" $never <<'PYTHON'
import ipaddress, sys
address = ipaddress.ip_address(sys.argv[1])
family = "ipv4" if address.version == 4 else "ipv6"
inside = [n for n in sys.argv[2:] if ipaddress.ip_network(n, strict=False).version == address.version
          and address in ipaddress.ip_network(n, strict=False)]
print(family, f"{address}/{address.max_prefixlen}", inside[0] if inside else "-")
PYTHON
) || { say "cannot check $ALERT_KEY against BLACKHOLE_NEVER ($never): python3 failed"; exit 1; }
read -r family prefix protected <<EOF_CLASSIFIED
$classified
EOF_CLASSIFIED
if [ -z "${family:-}" ] || [ -z "${prefix:-}" ] || [ -z "${protected:-}" ]; then
	say "cannot check $ALERT_KEY against BLACKHOLE_NEVER: no answer"
	exit 1
fi

if [ "$protected" != - ]; then
	say "refusing to blackhole $prefix ($state of alert ${ALERT_ID:-}): it is in $protected, never blackholed"
	exit 0
fi

rib() { "$gobgp" -u "$api_host" -p "$api_port" global rib "$@"; }

if [ "$state" = end ]; then
	rib del -a "$family" "$prefix"
	say "withdrew $prefix (alert ${ALERT_ID:-} ended: ${ALERT_REASON:-})"
	exit 0
fi

exec 9>"$lock"
flock 9
# a RIB that cannot be listed is not an empty one: the cap must not fail open
ipv4_routes=$(rib -a ipv4) || { say "cannot list the IPv4 RIB: not announcing $prefix"; exit 1; }
ipv6_routes=$(rib -a ipv6) || { say "cannot list the IPv6 RIB: not announcing $prefix"; exit 1; }
routes=$(( $(printf '%s\n' "$ipv4_routes" | grep -c '^\*' || true) + $(printf '%s\n' "$ipv6_routes" | grep -c '^\*' || true) ))
if [ "$routes" -ge "$max_routes" ]; then
	say "not announcing $prefix (alert ${ALERT_ID:-}): $routes routes announced, the most is $max_routes"
	exit 1
fi
rib add -a "$family" "$prefix" community "$community"
say "announced $prefix with community $community (alert ${ALERT_ID:-}, ${ALERT_GROUP:-no group}, ${ALERT_METRIC:-} ${ALERT_VALUE:-} above ${ALERT_THRESHOLD:-})"
