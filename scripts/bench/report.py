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
    ("offline", "1. Offline per-source counting (generated traces, warm page cache)"),
    ("live", "2. Live datapath, one worker core"),
    ("flow_tracker", "3. flow_tracker kernel, one core (build/flow_tracker_bench)"),
    ("handoff", "4. Ring hand-off between lcores"),
    ("reload", "5. Live reload (scripts/reload_latency.sh)"),
    ("agent", "6. Agent mode (`idle: sleep`) over af_packet"),
    ("plugin", "7. A plugin kernel against the same kernel built in"),
    ("metrics", "8. Serving Prometheus metrics while the datapath runs"),
    ("filter", "9. filter kernel: tcpdump expressions, JIT against interpreter and libpcap"),
    ("history", "10. history kernel: packets into the ring, dumps out of it"),
    ("multiqueue", "11. Multi-queue af_packet: queue to replica directly, or through the software partition"),
    ("startup", "12. Start-up: a short offline run and --check"),
    ("threshold", "13. threshold groups: the prefix lookup of each record"),
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
               "repository root, after `make bench` has built the binaries and the traces. Nothing here is an "
               "estimate.")
    out.append("")
    out.append(f"- date: {env('BENCH_DATE', '?')}")
    out.append(f"- machine: `{env('BENCH_ARCH', '?')}`, {env('BENCH_NPROC', '?')} CPUs (`nproc`), "
               f"{env('BENCH_CPU', '?')}, Linux {env('BENCH_KERNEL', '?')}")
    out.append(f"- commit: `{env('BENCH_COMMIT', '?')}`")
    traces = [line for line in env("BENCH_TRACE_COMMAND", "").splitlines() if line]
    if traces:
        out.append("- traces (generated once, kept in `build/bench/`): "
                   + "; ".join(f"`{command}`" for command in traces)
                   + ". Without `--size` the frames are a bimodal mix (45 % 64-100 B, 35 % 1400-1514 B, "
                   "the rest in between, about 710 B per frame), which makes those rows partly "
                   "memory-bandwidth rows; `--size 64` makes a packet-rate row (IPv6, VLAN and TCP "
                   "frames are as long as their headers need, up to 82 B). `--size-range 64-664 "
                   "--snaplen 96` is shaped like a monitoring capture taken with `tcpdump -s 96`: "
                   "lengths uniform in 64-664 B, each record holding the first 96 B of its frame "
                   "(incl_len) and the whole length in orig_len, which the counts use, as "
                   "Wireshark's frame.len.")
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
                       "page cache for all. jetstreamd's records are summed per source "
                       "(`scripts/bench/jsonl_to_tsv.py`) and compared byte for byte with the generator's oracle "
                       "(`build/bench/bench_*.pcap.src.tsv`), as is the reference's output; a difference fails "
                       "the run. nfpcapd builds flows (the generator draws a random source port per packet, so "
                       "nearly every packet is a new flow for it), so it does different work: it is the peer "
                       "named in issue 5, not an equivalent program. The streaming pipeline of the 64-byte "
                       "trace (the preload one adds `preload: true`):")
            out.append("")
            out.append(pipeline_block("build/bench/offline_64B.yaml"))
        if section == "live":
            out.append("jetstreamd runs with its default settings: lcore 0 is the control thread, lcore 1 the "
                       "one worker, which polls the source, the counter or passthrough, and the null sink. "
                       "testpmd gets the same two lcores (`-l 0,1`, forwarding on lcore 1) and 16384 mbufs. "
                       "testpmd's figure counts both directions, everything its one forwarding core moves; "
                       "net_null's receive path allocates mbufs and writes no packet bytes, while the synthetic "
                       "source writes and parses every header, so 2a/2b do more per packet than testpmd; 2c/2d "
                       "use the same driver as testpmd. One difference favours jetstreamd: without hugepages, "
                       "testpmd's pool keeps one mbuf per 4 KiB page (IOVA contiguity), so all its mbuf "
                       "headers share one L1 cache set, while jetstreamd packs its pool when no device can "
                       "DMA into it (daemon/main.c); testpmd has no option to do the same. The pipelines:")
            out.append("")
            out.append(pipeline_block("build/bench/live_synthetic_counter.yaml"))
            out.append(pipeline_block("build/bench/live_synthetic_passthrough.yaml"))
        if section == "flow_tracker":
            out.append("The bench feeds synthetic parsed packets straight into the kernel's `process()`, so "
                       "this is the kernel alone (no source, no ring). `B/flow` is the table's own bytes per "
                       "flow; the notes give the process's resident growth per flow and the longest single "
                       "`process()` call of the timed phase.")
            out.append("")
        if section == "handoff":
            out.append("Settings `lcores: \"0@0,1@1,2@0\"` (three lcores on the two CPUs); the two-lcore "
                       "pipeline:")
            out.append("")
            out.append(pipeline_block("build/bench/handoff_split.yaml"))
        if section == "plugin":
            out.append("Both rows run the same settings file, which loads the plugin "
                       "(`make build/bench/per_src_counter_plugin.so`: "
                       "`daemon/kernels/per_src_counter.c` and its table compiled with "
                       "`-fPIC -fvisibility=hidden`), and the same pipeline but for the "
                       "counter's `type:` (`per_src_counter_plugin` in 7b). What differs is "
                       "position-independent code and the kernel API reached through the PLT. "
                       "The generator runs on the same worker, so the ratio is that of the "
                       "whole pipeline, not of the counter alone. The settings and the "
                       "built-in pipeline:")
            out.append("")
            out.append(pipeline_block("build/bench/plugin_settings.yaml"))
            out.append(pipeline_block("build/bench/plugin_builtin.yaml"))
        if section == "metrics":
            out.append("One daemon run, `metrics:` listening throughout; quiet and scraped phases "
                       "alternate in it (5 s each by default). In a scraped phase a curl fetches "
                       "/metrics every second, as a Prometheus with a 1 s scrape interval would. "
                       "A phase's rate is the source's `jetstream_kernel_items_out_total` over "
                       "`jetstream_uptime_seconds`, read by the scrapes that open and close it. "
                       "A scrape is rendered on the control thread (lcore 0) from a status "
                       "snapshot; the worker never waits on it. curl runs on CPU 0, the control "
                       "thread's, not on the worker's. The settings and the pipeline:")
            out.append("")
            out.append(pipeline_block("build/bench/metrics_settings.yaml"))
            out.append(pipeline_block("build/bench/metrics.yaml"))
        if section == "history":
            out.append("Every kernel on worker lcore 1 (`cores: 1`), the synthetic source included, so a "
                       "row's rate is that of generating, holding (copying each frame into the ring) "
                       "and freeing. Passthrough and history run alternately in the same loop of runs. "
                       "The 10-second dump's time is what the daemon logs when it renames the file. The "
                       "64-byte history pipeline (snaplen 0) and the dump's:")
            out.append("")
            out.append(pipeline_block("build/bench/history_64_0.yaml"))
            out.append(pipeline_block("build/bench/history_dump.yaml"))
        if section == "multiqueue":
            out.append("A veth pair between two network namespaces; tcpreplay replays the trace "
                       f"(`{read_text('build/bench/multiqueue_trace_command') or 'see scripts/bench/multiqueue.sh'}`) "
                       "into one end, jetstreamd reads the other with af_packet, two queue pairs in one "
                       "PACKET_FANOUT group. The two mappings run alternately in the same loop of runs, "
                       "same traffic, same lcores. Busy ns per packet: while the replay runs, "
                       "`jetstreamctl status --json` is read every 0.2 s; each reply's worker `busy_ratio` "
                       "(TSC cycles of rounds that found work, summed over the worker lcores; the sink "
                       "thread left out) over the source's `items_out_per_second`, both since the last "
                       "one-second tick, gives a figure; a run's is the median of those taken at half the "
                       "peak rate or more (`scripts/bench/busy_per_packet.py`). The direct pipeline "
                       "(`software` differs only in `queue_mapping`; `none`, a check of the script on a daemon "
                       "without the key, has no `queue_mapping`):")
            out.append("")
            mapping = "direct" if os.path.exists("build/bench/multiqueue_direct.yaml") else "none"
            out.append(pipeline_block(f"build/bench/multiqueue_{mapping}.yaml"))
        if section == "startup":
            out.append("The wall time of the whole process, exec to exit, with the default settings (no `-c`): "
                       "EAL's start, the pool, the graph, reading the 10 frames, the 5 records written, the "
                       "exit. One untimed run first, so the page cache is warm. Every run must exit 0 and the "
                       "run must write 5 records. The pipeline:")
            out.append("")
            out.append(pipeline_block("build/bench/startup.yaml"))
        if section == "threshold":
            out.append("The threshold kernel looks up the group of each src_count record it reads, once per key "
                       "and window, not per packet: a counter with 100 000 keys a window of 1 s costs the "
                       "threshold 100 000 lookups a second. The kernel uses DPDK's RIB (`rte_rib`, `rte_rib6`), "
                       "a trie of at most two nodes of 40 bytes (IPv6: 56) a prefix, under 1 MB for 10 000; `rte_lpm` answers in one or two reads of its tables "
                       "but its tbl24 alone is 2^24 entries of 4 bytes, 64 MB for each replica, twice during a "
                       "reload, out of the daemon's 512 MB by default. Both are built from the same prefixes "
                       "and must give every address the same group, or the run fails.")
    with open(markdown_path, "w", encoding="utf-8") as stream:
        stream.write("\n".join(out))
    print(f"wrote {markdown_path}")
    return 0


def read_text(path):
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read().strip()
    except OSError:
        return ""


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
