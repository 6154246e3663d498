#!/usr/bin/env python3
"""Checks of the control socket and jetstreamctl for the test_ctl*.sh tests.
Standard library only.

  status-vs-summary STATUS_JSON STDERR EQUAL_KERNELS...
        every kernel of the last `status --json` (replicas summed) against the
        exit summary: in and out equal for EQUAL_KERNELS (finished before the
        status was taken), never above the summary for the others
  sources-vs-records SOURCES_JSON RECORDS N
        the `sources --json` reply is the top N src_count records of that
        kernel and window, in order (pkts desc, bytes desc, key bytes asc)
  hostile SOCKET COUNT
        COUNT malformed requests of many kinds; each that can be answered must
        get {"ok":false,"error":...} and the connection must stay usable or close
  bounds SOCKET
        16 idle clients fill the slots: a 17th is told "too many clients"; a
        client that sends requests and never reads its replies does not hold
        the others up; the daemon drops idle and non-reading clients after 5 s
  concurrent SOCKET CLIENTS
        CLIENTS threads ask for the status at once; each must get one (after
        "too many clients" refusals, retried)
  heavy-checks SOCKET HEAVY_PIPELINE CLIENTS CHECKS
        CLIENTS clients each pipeline CHECKS checks of HEAVY_PIPELINE (a valid
        file near the 16 MiB bound): every check is answered valid, while
        another client's status is answered in under 2 s each time; then a
        check of two such files is refused with the error naming the bound
"""
import ipaddress
import json
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import records  # noqa: E402  (records.py beside this file)


def summary_kernels(path):
    figures = {}
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            match = records.SUMMARY_KERNEL.match(line.rstrip("\n"))
            if match:
                figures[match.group(1)] = (int(match.group(4)), int(match.group(5)))
    if not figures:
        sys.exit(f"{path}: no exit summary")
    return figures


def status_vs_summary(status_path, stderr_path, *equal_kernels):
    with open(status_path, encoding="utf-8") as stream:
        status = json.load(stream)
    sums = {}
    for instance in status["instances"]:
        figures = sums.setdefault(instance["kernel"], [0, 0])
        figures[0] += instance["items_in"]
        figures[1] += instance["items_out"]
    summary = summary_kernels(stderr_path)
    problems = []
    for kernel, (items_in, items_out) in sorted(sums.items()):
        final_in, final_out = summary.get(kernel, (None, None))
        if final_in is None:
            problems.append(f"{kernel}: in the status, not in the summary")
        elif kernel in equal_kernels and (items_in, items_out) != (final_in, final_out):
            problems.append(f"{kernel}: status in {items_in} out {items_out}, "
                            f"summary in {final_in} out {final_out} (must be equal)")
        elif items_in > final_in or items_out > final_out:
            problems.append(f"{kernel}: status in {items_in} out {items_out} above "
                            f"the summary's in {final_in} out {final_out}")
        else:
            relation = "==" if kernel in equal_kernels else "<="
            print(f"  {kernel}: status in {items_in} out {items_out} {relation} "
                  f"summary in {final_in} out {final_out}")
    missing = [kernel for kernel in equal_kernels if kernel not in sums]
    problems += [f"{kernel}: not in the status" for kernel in missing]
    for problem in problems:
        print(f"FAIL: {problem}")
    sys.exit(1 if problems else 0)


def key_bytes(record, key):
    def packed(text):
        address = ipaddress.ip_address(text)
        if address.version == 4:
            address = ipaddress.IPv6Address("::ffff:" + text)
        return address.packed
    if key == "src_dst":
        return packed(record["src"]) + packed(record["dst"])
    return packed(record[key]) + bytes(16)


def sources_vs_records(reply_path, records_path, wanted):
    with open(reply_path, encoding="utf-8") as stream:
        reply = json.load(stream)
    key = reply["key"]
    if reply["replicas_in_window"] != reply["replicas"]:
        sys.exit(f"FAIL: {reply['kernel']}: {reply['replicas_in_window']} of {reply['replicas']} "
                 "replicas in the window: every replica had packets in it")
    window = [record for record in records.src_counts(records_path, reply["kernel"])
              if record["start"] == reply["start_ns"] and record["end"] == reply["end_ns"]]
    if not window:
        sys.exit(f"FAIL: no record of {reply['kernel']} for the window {reply['start_ns']}"
                 f"..{reply['end_ns']} in {records_path}")
    window.sort(key=lambda record: (-record["pkts"], -record["bytes"], key_bytes(record, key)))
    fields = ["src", "dst"] if key == "src_dst" else [key]
    expected = [{**{field: record[field] for field in fields}, "pkts": record["pkts"],
                 "bytes": record["bytes"]} for record in window[:int(wanted)]]
    if reply["sources"] != expected:
        print(f"FAIL: sources replied {reply['sources']}")
        print(f"      the records give {expected}")
        sys.exit(1)
    print(f"  ok: the top {len(expected)} of {reply['kernel']} ({reply['replicas']} replicas) equal "
          f"the records of its window ({len(window)} keys), in order: {[entry[fields[0]] for entry in expected]}")


def connect(path):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(path)
    return client


def read_reply(client):
    data = b""
    while not data.endswith(b"\n"):
        chunk = client.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def malformed(generator, index):
    """(bytes to send, whether a reply must come) of kind index % 10."""
    kind = index % 10
    if kind == 0:
        return bytes(generator.randrange(256) for _ in range(generator.randrange(1, 200))).replace(b"\n", b"") + b"\n", True
    if kind == 1:
        return b"{" * generator.randrange(1, 3000) + b"\n", True
    if kind == 2:
        return b"x" * generator.randrange(4097, 20000) + b"\n", True
    if kind == 3:
        return json.dumps({"command": "no_such_" + str(index)}).encode() + b"\n", True
    if kind == 4:
        return json.dumps({"command": generator.choice([1, None, [], {}, True])}).encode() + b"\n", True
    if kind == 5:
        return json.dumps({"command": "sources", "kernel": 5, "n": "x"}).encode() + b"\n", True
    if kind == 6:
        return json.dumps({"command": "sources", "kernel": "count", "n": generator.choice([0, -1, 101, 2**62])}).encode() + b"\n", True
    if kind == 7:
        return json.dumps({"command": "check", "settings": "relative.yaml", "pipelines": [1]}).encode() + b"\n", True
    if kind == 8:
        return generator.choice([b"[1, 2]", b"\"status\"", b"null", b"{\"command\":\"status\",\"command\":\"status\"}", b"\x00\x01"]) + b"\n", True
    return json.dumps({"command": "status"}).encode()[:generator.randrange(1, 15)], False


def hostile(path, count):
    generator = random.Random(11)
    answered = closed = 0
    for index in range(int(count)):
        payload, reply_expected = malformed(generator, index)
        client = connect(path)
        try:
            client.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon closed a huge line early: allowed, once it answered
        if not reply_expected:
            client.close()  # half a line, then gone
            closed += 1
            continue
        reply = read_reply(client)
        client.close()
        if reply is None or reply.get("ok") is not False or not isinstance(reply.get("error"), str):
            sys.exit(f"FAIL: request {index} ({payload[:60]!r}...) got {reply!r}, "
                     "expected {\"ok\":false,\"error\":...}")
        answered += 1
    print(f"  ok: {answered} malformed requests answered with an error, {closed} half requests closed")


def concurrent(path, clients):
    results = [None] * int(clients)
    refusals = [0] * int(clients)
    start = threading.Barrier(int(clients))

    def ask(index):
        start.wait()
        for _ in range(200):
            try:
                client = connect(path)
            except BlockingIOError:
                # the listen backlog is full: a client with a timeout is told so; retry
                refusals[index] += 1
                time.sleep(0.01)
                continue
            try:
                client.sendall(b'{"command":"status"}\n')
                reply = read_reply(client)
            except (ConnectionResetError, BrokenPipeError):
                # refused while the request was on its way: the line may be lost; retry
                refusals[index] += 1
                client.close()
                continue
            client.close()
            if reply and reply.get("ok") is True:
                results[index] = reply
                return
            if reply and reply.get("error") == "too many clients":
                refusals[index] += 1
                time.sleep(0.01)
                continue
            results[index] = reply
            return

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(int(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bad = [(index, reply) for index, reply in enumerate(results)
           if not reply or reply.get("ok") is not True or "instances" not in reply["status"]]
    if bad:
        sys.exit(f"FAIL: {len(bad)} of {clients} clients got no status, e.g. {bad[0]}")
    print(f"  ok: {clients} concurrent clients each got a status "
          f"({sum(refusals)} 'too many clients' or full-backlog refusals on the way, retried)")


def timed_status(path):
    started = time.monotonic()
    client = connect(path)
    client.sendall(b'{"command":"status"}\n')
    reply = read_reply(client)
    client.close()
    return reply, time.monotonic() - started


def bounds(path):
    idle = [connect(path) for _ in range(16)]
    time.sleep(0.2)
    refused = connect(path)
    reply = read_reply(refused)
    if reply != {"ok": False, "error": "too many clients"}:
        sys.exit(f"FAIL: a 17th client got {reply!r}, expected the 'too many clients' error")
    print("  ok: with 16 idle clients, a 17th is told: too many clients")
    started = time.monotonic()
    for client in idle:
        client.settimeout(8)
        if client.recv(1) != b"":
            sys.exit("FAIL: an idle client got data instead of being closed")
    waited = time.monotonic() - started
    if not 4.0 <= waited + 0.2 <= 7.0:
        sys.exit(f"FAIL: idle clients were closed after {waited + 0.2:.1f} s, expected 5 s")
    print(f"  ok: the idle clients were closed after {waited + 0.2:.1f} s")
    stubborn = connect(path)
    stubborn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stubborn.sendall(b'{"command":"status"}\n' * 150)
    worst = 0.0
    for _ in range(20):
        reply, took = timed_status(path)
        if not reply or reply.get("ok") is not True:
            sys.exit(f"FAIL: beside a client that does not read, a status got {reply!r}")
        worst = max(worst, took)
        time.sleep(0.1)
    if worst > 1.0:
        sys.exit(f"FAIL: beside a client that does not read, a status took {worst:.2f} s")
    print(f"  ok: beside a client that never reads, 20 status requests answered (slowest {worst * 1000:.0f} ms)")
    stubborn.settimeout(10)
    started = time.monotonic()
    try:
        while stubborn.recv(65536):
            pass  # what the daemon had queued, then the close
    except ConnectionResetError:
        pass
    stubborn.close()
    print(f"  ok: the client that never read was dropped")


CHECK_BYTES_MAX = 16 << 20


def pipelined_checks(path, heavy, checks, results, index):
    """Send `checks` check requests at once, then read every reply."""
    client = connect(path)
    client.settimeout(60)
    request = json.dumps({"command": "check", "pipelines": [heavy]}).encode() + b"\n"
    client.sendall(request * checks)
    buffered = b""
    replies = []
    while len(replies) < checks:
        chunk = client.recv(65536)
        if not chunk:
            break
        buffered += chunk
        *lines, buffered = buffered.split(b"\n")
        replies += [json.loads(line) for line in lines]
    client.close()
    results[index] = replies


def heavy_checks(path, heavy, clients, checks):
    clients, checks = int(clients), int(checks)
    results = [None] * clients
    threads = [threading.Thread(target=pipelined_checks, args=(path, heavy, checks, results, index))
               for index in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    latencies = []
    while any(thread.is_alive() for thread in threads):
        reply, took = timed_status(path)
        if not reply or reply.get("ok") is not True:
            sys.exit(f"FAIL: beside the checks, a status got {reply!r}")
        latencies.append(took)
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    answered = 0
    for index, replies in enumerate(results):
        if len(replies) != checks:
            sys.exit(f"FAIL: client {index} got {len(replies)} replies to {checks} checks")
        for reply in replies:
            if reply.get("ok") is not True or not reply.get("summary", "").startswith("configuration valid"):
                sys.exit(f"FAIL: client {index}: a check of a valid file got {reply!r}")
            answered += 1
    worst = max(latencies)
    if worst >= 2.0:
        sys.exit(f"FAIL: beside {clients} clients' checks, a status took {worst:.2f} s")
    print(f"  ok: {answered} checks of a {os.path.getsize(heavy) >> 20} MiB file from {clients} "
          f"pipelining clients, all valid, in {elapsed:.1f} s; beside them {len(latencies)} status "
          f"requests, slowest {worst * 1000:.0f} ms")
    client = connect(path)
    client.settimeout(30)
    client.sendall(json.dumps({"command": "check", "pipelines": [heavy, heavy]}).encode() + b"\n")
    reply = read_reply(client)
    client.close()
    bound = f"the files one check reads may have {CHECK_BYTES_MAX} bytes in all"
    if (not reply or reply.get("ok") is not False or reply.get("exit") != 78 or
            not any(bound in line for line in reply.get("errors", []))):
        sys.exit(f"FAIL: a check of two {os.path.getsize(heavy) >> 20} MiB files got {reply!r}, "
                 f"expected exit 78 with an error line saying: {bound}")
    print(f"  ok: a check of two such files is refused: {reply['errors'][0]}")


COMMANDS = {"status-vs-summary": status_vs_summary, "heavy-checks": heavy_checks, "sources-vs-records": sources_vs_records,
            "hostile": hostile, "concurrent": concurrent, "bounds": bounds}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
