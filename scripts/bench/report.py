#!/usr/bin/env python3
"""Print the benchmark table and write BENCHMARKS.md from the rows the
scripts/bench/*.sh scripts recorded (tab-separated: section, label, result,
runs, note, command). Machine facts come from BENCH_* environment variables
set by scripts/bench/run.sh.

    report.py RESULTS.tsv BENCHMARKS.md
"""
import os
import sys

SECTIONS = (
    ("offline", "1. Offline per-source counting (one generated trace, warm page cache)"),
    ("live", "2. Live datapath, one worker core (DPDK net_null)"),
    ("flow_tracker", "3. flow_tracker kernel, one core (build/flow_tracker_bench)"),
    ("reload", "4. Live reload (scripts/reload_latency.sh)"),
)

NOT_MEASURED = (
    ("live `synthetic -> per_src_counter` with table work, one worker",
     "a `synthetic` source mode (issue 5): net_null frames carry no IP header, so row 2a has no table work"),
    ("live `synthetic -> passthrough -> sink(null)` vs testpmd (target >= 0.9x)",
     "the `synthetic` source and a `passthrough` kernel; neither exists yet"),
    ("offline from memory (`pcap` with `preload: true`, `loop:`)",
     "the `preload` option of the pcap source (issue 5); row 1a includes libpcap file reading"),
    ("ring hand-off cost, kernels on different lcores vs the same lcore",
     "a source that is not I/O-bound (`synthetic`) and more than one worker lcore; this machine has 2 CPUs, "
     "1 worker"),
    ("agent mode: CPU % idle and at ~150 kpps over af_packet (targets <= 2 %, <= 15 % of a core)",
     "`idle: sleep` adaptive polling in the daemon; today a worker busy-polls its core at 100 %"),
)


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def main(results_path, markdown_path):
    rows = []
    with open(results_path, encoding="utf-8") as stream:
        for line in stream:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 6:
                rows.append(fields)
    env = os.environ.get

    # the terminal table
    width = max([len(r[1]) for r in rows] + [10])
    print()
    print(f"{'benchmark':<{width}}  {'result':<34}  runs")
    print("-" * (width + 44))
    for section, label, result, runs, _note, _command in rows:
        print(f"{label:<{width}}  {result:<34}  {runs}")
    print()

    out = []
    out.append("# Benchmarks")
    out.append("")
    out.append("Measured by `make bench` (scripts under `scripts/bench/`), which writes this file. Every row is "
               "the median of the runs given (`runs`); the command next to it reproduces one run, from the "
               "repository root, after `make bench` has built the binaries and the trace. Nothing here is an "
               "estimate: a row that the daemon cannot run yet is listed at the end as not measured.")
    out.append("")
    out.append(f"- date: {env('BENCH_DATE', '?')}")
    out.append(f"- machine: `{env('BENCH_ARCH', '?')}`, {env('BENCH_NPROC', '?')} CPUs (`nproc`), "
               f"{env('BENCH_CPU', '?')}, Linux {env('BENCH_KERNEL', '?')}")
    out.append(f"- commit: `{env('BENCH_COMMIT', '?')}`")
    trace = env("BENCH_TRACE_COMMAND", "")
    if trace:
        out.append(f"- trace (generated once, kept in `build/bench/`): `{trace}`. It has no frame-size option: "
                   "the default bimodal mix (45 % 64-100 B, 35 % 1400-1514 B, the rest in between, about "
                   "710 B per frame) makes the offline rows partly memory-bandwidth rows, not pure packet-rate "
                   "rows.")
    out.append("")
    for section, title in SECTIONS:
        section_rows = [r for r in rows if r[0] == section]
        if not section_rows:
            continue
        out.append(f"## {title}")
        out.append("")
        out.append("| benchmark | result | runs | notes | command |")
        out.append("|---|---|---|---|---|")
        for _section, label, result, runs, note, command in section_rows:
            command_cell = "-" if command == "-" else f"`{cell(command)}`"
            out.append(f"| {cell(label)} | **{cell(result)}** | {cell(runs)} | {cell(note)} | {command_cell} |")
        out.append("")
        if section == "offline":
            out.append("Mpps = frames in the file / median wall time of the whole process (start-up, reading, "
                       "counting, writing the output). Each tool runs once untimed first, so the file is in the "
                       "page cache for all three. jetstreamd's records are summed per source "
                       "(`scripts/bench/jsonl_to_tsv.py`) and compared byte for byte with the generator's oracle "
                       "`build/bench/bench.pcap.src.tsv`, as is the reference's output; a difference fails the "
                       "run. nfpcapd builds flows (the generator draws a random source port per packet, so "
                       "nearly every packet is a new flow for it), so it does different work: it is the peer "
                       "named in issue 5, not an equivalent program. The pipeline:")
            out.append("")
            out.append(pipeline_block("build/bench/offline.yaml"))
        if section == "live":
            out.append("jetstreamd runs with its default settings: lcore 0 is the control thread, lcore 1 the "
                       "one worker, which polls the source and the counter. testpmd gets the same two lcores "
                       "(`-l 0,1`, forwarding on lcore 1) and the same pool size (16384 mbufs). testpmd's "
                       "figure counts both directions, everything its one forwarding core moves. The pipeline:")
            out.append("")
            out.append(pipeline_block("build/bench/live_null.yaml"))
        if section == "flow_tracker":
            out.append("The bench feeds synthetic parsed packets straight into the kernel's `process()`, so "
                       "this is the kernel alone (no source, no ring). `B/flow` is the table's own bytes per "
                       "flow; the notes give the process's resident growth per flow and the longest single "
                       "`process()` call of the timed phase.")
            out.append("")
    out.append("## Not measured yet")
    out.append("")
    out.append("| benchmark | not measured yet (needs ...) |")
    out.append("|---|---|")
    for label, needs in NOT_MEASURED:
        out.append(f"| {cell(label)} | needs {cell(needs)} |")
    out.append("")
    with open(markdown_path, "w", encoding="utf-8") as stream:
        stream.write("\n".join(out))
    print(f"wrote {markdown_path}")
    return 0


def pipeline_block(path):
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read().rstrip("\n")
    except OSError:
        return f"(`{path}` not found)\n"
    return f"```yaml\n{text}\n```\n"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} RESULTS.tsv BENCHMARKS.md")
    sys.exit(main(sys.argv[1], sys.argv[2]))
