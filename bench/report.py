#!/usr/bin/env python3
"""Turns one `make bench` run into bench/results/latest.json, bench/RESULTS.md
and the PNG plots in bench/results/.

    bench/report.py --parts DIR --results DIR --markdown FILE --findings FILE

DIR holds what bench/run.sh collected: machine.json and one JSON file per part
(http.json, limiter.json from Google Benchmark, xdp.json, flood.json,
attack.json), or
<part>.skipped holding the reason a part did not run. Every figure in the
report is set beside its peer or floor from the same run, as a ratio.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

PARTS = ("http", "limiter", "xdp", "flood", "attack")
PROXIES = ("sluice", "nginx", "haproxy", "direct")
PROXY_NAMES = {"sluice": "Sluice", "nginx": "nginx", "haproxy": "HAProxy", "direct": "direct (no proxy)"}
FILTER_NAMES = {"sluice_xdp": "Sluice XDP", "nftables_meter": "nftables meter (input)",
                "nftables_ingress": "nftables meter (netdev ingress)", "none": "no filter"}
ATTACK_NAMES = {"sluice_xdp": "Sluice + XDP escalation", "nginx": "nginx limit_req + limit_conn",
                "haproxy": "HAProxy stick table + deny", "sluice_no_xdp": "Sluice, XDP off"}


def load_parts(parts_dir):
    parts, skipped = {}, {}
    for name in PARTS:
        result = parts_dir / f"{name}.json"
        reason = parts_dir / f"{name}.skipped"
        if result.exists():
            parts[name] = json.loads(result.read_text())
        else:
            skipped[name] = reason.read_text().strip() if reason.exists() else "did not run"
    return parts, skipped


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, digits=0):
    if value is None:
        return "–"
    if isinstance(value, float) and digits == 0 and abs(value) < 10:
        digits = 2
    return f"{value:,.{digits}f}"


def fmt_ratio(value):
    return "–" if value is None else f"{value:.2f}×"


def cpus(listed):
    return ",".join(str(c) for c in listed)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- goals

def http_goals(http):
    goals = []
    for scenario in http["scenarios"]:
        results = scenario["results"]
        sluice = results.get("sluice")
        peers = [p for p in ("nginx", "haproxy") if p in results]
        if not sluice or not peers:
            continue
        faster = max(peers, key=lambda p: results[p]["requests_per_s"])
        throughput = ratio(sluice["requests_per_s"], results[faster]["requests_per_s"])
        p99 = ratio(sluice["p99_ms"], results[faster]["p99_ms"])
        cpu_ratio = ratio(sluice["proxy_cpu_us_per_request"], results[faster]["proxy_cpu_us_per_request"])
        goals.append({
            "goal": f"HTTP {scenario['id']}: req/s ≥ 1.0× the faster peer ({PROXY_NAMES[faster]}), p99 no worse",
            "measured": f"{throughput:.2f}× req/s, p99 {sluice['p99_ms']:.2f} vs {results[faster]['p99_ms']:.2f} ms, "
                        f"CPU/request {cpu_ratio:.2f}× theirs",
            "met": throughput >= 1.0 and p99 <= 1.0,
        })
    return goals


def xdp_goals(xdp):
    rows = {row["id"]: row for row in xdp["rows"]}
    goals = []
    for row_id, limit in (("hit", 2.0), ("spray", 4.0)):
        if row_id in rows:
            row = rows[row_id]
            goals.append({
                "goal": f"XDP {row_id}: ≤ {limit:g}× its floor",
                "measured": f"{row['ratio']:.2f}× ({row['median_ns']} vs {row['floor_ns']} ns)",
                "met": row["ratio"] <= limit,
            })
    return goals


def flood_goals(flood):
    runs = flood["runs"]
    if "sluice_xdp" not in runs or "nftables_meter" not in runs:
        return []
    value = ratio(runs["sluice_xdp"]["dropped_per_cpu_second"], runs["nftables_meter"]["dropped_per_cpu_second"])
    goals = [{
        "goal": "Flood: ≥ 3× the nftables rule's drops per receiver CPU-second",
        "measured": f"{value:.2f}×" if value is not None else "–",
        "met": value is not None and value >= 3.0,
    }]
    if "nftables_ingress" in runs:
        ingress = ratio(runs["sluice_xdp"]["dropped_per_cpu_second"], runs["nftables_ingress"]["dropped_per_cpu_second"])
        goals.append({
            "goal": "Flood, also: ≥ 3× the same rule in the netdev ingress hook (nftables' earliest)",
            "measured": f"{ingress:.2f}×" if ingress is not None else "–",
            "met": ingress is not None and ingress >= 3.0,
        })
    return goals


def attack_goals(attack):
    runs = attack["runs"]
    sluice = runs.get("sluice_xdp")
    peers = [p for p in ("nginx", "haproxy") if p in runs]
    if not sluice or not peers:
        return []
    best = min(peers, key=lambda p: runs[p]["server_cpu_s_per_s"] or float("inf"))
    cpu = ratio(sluice["server_cpu_s_per_s"], runs[best]["server_cpu_s_per_s"])
    success = sluice["legit"]["success_rate"]
    return [{
        "goal": f"Attack: legitimate success ≥ 99% and server CPU below the cheaper peer ({ATTACK_NAMES[best]})",
        "measured": f"success {100 * success:.1f}%, server CPU {cpu:.2f}× theirs" if success is not None and cpu else "–",
        "met": success is not None and success >= 0.99 and cpu is not None and cpu < 1.0,
    }]


def all_goals(parts):
    goals = []
    if "http" in parts:
        goals += http_goals(parts["http"])
    if "xdp" in parts:
        goals += xdp_goals(parts["xdp"])
    if "flood" in parts:
        goals += flood_goals(parts["flood"])
    if "attack" in parts:
        goals += attack_goals(parts["attack"])
    return goals


# ---------------------------------------------------------------- limiter

def limiter_rows(limiter):
    """Google Benchmark's JSON -> {(benchmark, keys, threads): entry}."""
    rows = {}
    for entry in limiter["benchmarks"]:
        if entry.get("run_type", "iteration") != "iteration":
            continue
        fields = entry["name"].split("/")
        params = dict(f.split(":", 1) for f in fields[1:] if ":" in f and not f.startswith("real_time"))
        keys = int(params["keys"])
        threads = int(params.get("threads", "1"))
        rows[(fields[0], keys, threads)] = entry
    return rows


def ns_per_op(entry):
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[entry["time_unit"]]
    return entry["real_time"] * scale


# ---------------------------------------------------------------- markdown

def machine_section(machine):
    lines = ["## Machine", ""]
    lines += [f"- **{key}:** {value}" for key, value in machine.items()]
    return "\n".join(lines)


def http_section(http):
    load = http["load"]
    out = ["## 1. HTTP proxying with limits", ""]
    out.append(
        f"{load['tool']}, {load['threads']} thread, {load['connections']} connections, {load['duration_s']} s after "
        f"{load['warmup_s']} s warm-up, median of {load['rounds']} rounds (order rotated). Each proxy runs one "
        f"worker pinned to CPU {cpus(http['pinning']['proxy'])}; wrk and the upstream share CPU "
        f"{cpus(http['pinning']['load_and_upstream'])}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in http["versions"].items()) + ".")
    out.append("")
    header = ["scenario"] + [PROXY_NAMES[p] + " req/s" for p in PROXIES] + ["Sluice/nginx", "Sluice/HAProxy"]
    rows = []
    for s in http["scenarios"]:
        r = s["results"]
        rps = {p: r[p]["requests_per_s"] if p in r else None for p in PROXIES}
        rows.append([s["title"]] + [fmt(rps[p]) for p in PROXIES]
                    + [fmt_ratio(ratio(rps["sluice"], rps["nginx"])), fmt_ratio(ratio(rps["sluice"], rps["haproxy"]))])
    out += [table(header, rows), ""]
    out.append("The proxy's own CPU time per request (user + system of its process over the timed run, ÷ requests) "
               "separates the proxies even when the load side is the ceiling (all near `direct`). "
               "A ratio below 1 means Sluice spends less.")
    out.append("")
    header = ["scenario"] + [PROXY_NAMES[p] + " CPU µs/req" for p in PROXIES[:3]] + ["Sluice/nginx", "Sluice/HAProxy"]
    rows = []
    for s in http["scenarios"]:
        cpu = {p: s["results"].get(p, {}).get("proxy_cpu_us_per_request") for p in PROXIES[:3]}
        rows.append([s["title"]] + [fmt(cpu[p], 1) for p in PROXIES[:3]]
                    + [fmt_ratio(ratio(cpu["sluice"], cpu["nginx"])), fmt_ratio(ratio(cpu["sluice"], cpu["haproxy"]))])
    out += [table(header, rows), ""]
    header = ["scenario", "proxy", "p50 ms", "p99 ms", "p99.9 ms", "refused", "errors", "valid"]
    rows = []
    for s in http["scenarios"]:
        for p in PROXIES:
            if p not in s["results"]:
                continue
            v = s["results"][p]
            rows.append([s["title"], PROXY_NAMES[p], fmt(v["p50_ms"], 2), fmt(v["p99_ms"], 2), fmt(v["p999_ms"], 2),
                         f"{v['refused_fraction'] * 100:.1f}%", v["errors"], validity(v)])
    out += [table(header, rows), "", "![HTTP requests/s](results/http_throughput.png)",
            "![HTTP latency](results/http_latency.png)"]
    return "\n".join(out)


def limiter_section(limiter):
    rows = limiter_rows(limiter)
    out = ["## 2. Limiter engine", "",
           "`limiter_bench` (Google Benchmark): `Limiter::decide` on a full table, keys in random order; the floor is one "
           "dependent random read in a table of the store's size (the cache and TLB misses any hash table pays).", ""]
    header = ["keys", "threads", "decisions/s", "ns/decision (wall)", "store only ns", "floor ns", "decide/floor",
              "bytes/key"]
    body = []
    for (name, keys, threads), entry in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if name != "limiter_decide":
            continue
        store = rows.get(("store_acquire", keys, threads))
        floor = rows.get(("random_read_floor", keys, 1))
        decide_ns = 1e9 / entry["decisions_per_s"]
        # The floor is one dependent read on one thread: only one thread compares with it.
        floor_ns = ns_per_op(floor) if floor and threads == 1 else None
        body.append([f"{keys:,}", threads, fmt(entry["decisions_per_s"]), fmt(decide_ns, 1),
                     fmt(1e9 / store["decisions_per_s"], 1) if store else "–", fmt(floor_ns, 1),
                     fmt_ratio(ratio(decide_ns, floor_ns)), fmt(entry["bytes_per_key"], 1)])
    out += [table(header, body), "", "![Limiter decisions/s](results/limiter.png)"]
    return "\n".join(out)


def xdp_section(xdp):
    out = ["## 3. XDP per packet", "",
           f"`xdp_bench`: BPF_PROG_RUN, repeat {xdp['repeat']:,}, median of {xdp['reps']} alternating with the row's "
           f"floor, one pinned CPU (load average at start {xdp['load_average']}).", ""]
    header = ["path", "ns/packet (median)", "min", "floor ns", "ratio", "verdicts"]
    body = [[r["title"], r["median_ns"], r["min_ns"], r["floor_ns"], fmt_ratio(r["ratio"]), r.get("verdicts", "")]
            for r in xdp["rows"]]
    out += [table(header, body), "", "![XDP ns/packet](results/xdp.png)"]
    return "\n".join(out)


def legit_cells(legit):
    return [fmt(legit["requests_per_s"], 1), fmt(legit["p50_ms"], 2), fmt(legit["p99_ms"], 2),
            fmt(legit["p999_ms"], 2), legit["errors"]]


def validity(run):
    return "yes" if run.get("valid", True) else "no: " + run.get("why", "")


def flood_section(flood):
    setup = flood["setup"]
    out = ["## 4. Flood on veth", ""]
    out += [f"- **{key}:** {value}" for key, value in setup.items()]
    out.append("")
    header = ["filter", "sent pps", "dropped pps", "receiver CPU", "ns CPU/packet", "drops per CPU-s",
              "vs nftables (input)", "legit req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "valid"]
    runs = flood["runs"]
    nft = runs.get("nftables_meter", {}).get("dropped_per_cpu_second")
    body = [["no flood (baseline)", "–", "–", "–", "–", "–", "–"] + legit_cells(flood["legit_baseline"]) + ["yes"]]
    for name, run in runs.items():
        body.append([FILTER_NAMES.get(name, name), fmt(run["sent_pps"]), fmt(run["dropped_pps"]),
                     f"{run['receiver_cpu_percent']:.0f}%", fmt(run["receiver_ns_per_packet"]),
                     fmt(run["dropped_per_cpu_second"]), fmt_ratio(ratio(run["dropped_per_cpu_second"], nft)),
                     *legit_cells(run["legit"]), validity(run)])
    out += [table(header, body), "", "![Flood](results/flood.png)"]
    return "\n".join(out)


def seconds(value):
    return "never" if value is None else f"{value:.1f} s"


def attack_section(attack):
    setup = attack["setup"]
    out = ["## 5. HTTP flood under attack", ""]
    out += [f"- **{key}:** {value}" for key, value in setup.items()]
    out += ["", "Whole attack window, medians of the valid rounds. Server CPU: the proxy's processes + the host "
            "veth's NAPI kthread (XDP, skb, IP, TCP) + CPU 0 softirq, in CPU-seconds per second; the ratio is to "
            "Sluice + XDP in the same run. Abuser requests reaching user space: the proxy's request counter minus "
            "the legitimate requests. Abuser packets reaching the stack: received by the host veth minus dropped "
            "by XDP minus the legitimate client's. Steady state: from the attack's start until every later 1 s "
            "window has ≥ 99% legitimate success (legit) / at most "
            f"{setup.get('steady_abuse_threshold_per_s', 50)} abuser requests answered (abuse).", ""]
    runs = attack["runs"]
    base = runs.get("sluice_xdp", {}).get("server_cpu_s_per_s")
    header = ["variant", "legit success", "p50 ms", "p99 ms", "p99.9 ms", "server CPU s/s", "vs Sluice+XDP",
              "abuser req/s to user space", "abuser pkts/s to stack", "2nd half: req/s", "2nd half: pkts/s",
              "abuser pkts/s sent", "steady (legit)", "steady (abuse)", "valid"]
    body = []
    for name, run in runs.items():
        legit, half = run["legit"], run.get("second_half", {})
        success = legit["success_rate"]
        body.append([ATTACK_NAMES.get(name, name), "–" if success is None else f"{100 * success:.2f}%",
                     fmt(legit["p50_ms"], 2), fmt(legit["p99_ms"], 2), fmt(legit["p999_ms"], 2),
                     fmt(run["server_cpu_s_per_s"], 2), fmt_ratio(ratio(run["server_cpu_s_per_s"], base)),
                     fmt(run["abuser_requests_to_user_space_per_s"]), fmt(run["abuser_packets_to_stack_per_s"]),
                     fmt(half.get("abuser_requests_to_user_space_per_s")),
                     fmt(half.get("abuser_packets_to_stack_per_s")), fmt(run["abuser_packets_sent_per_s"]),
                     seconds(run["time_to_steady_state_s"]["legit"]), seconds(run["time_to_steady_state_s"]["abuse"]),
                     f"{run['valid_rounds']}/{len(run['rounds'])}" + ("" if run["valid"] else " (" + run.get("why", "") + ")")])
    out += [table(header, body), ""]
    header = ["variant", "proxy CPU s/s", "NAPI kthread s/s", "softirq s/s", "upstream s/s", "CPU 0 busy",
              "XDP drops/s", "ring drops/s"]
    body = [[ATTACK_NAMES.get(n, n), fmt(r["proxy_cpu_s_per_s"], 3), fmt(r["napi_cpu_s_per_s"], 3),
             fmt(r["softirq_cpu_s_per_s"], 3), fmt(r["upstream_cpu_s_per_s"], 3),
             f"{r['cpu0_busy_percent']:.0f}%" if r["cpu0_busy_percent"] is not None else "–",
             fmt(r["xdp_dropped_per_s"]), fmt(r["ring_drops_per_s"])] for n, r in runs.items()]
    out += [table(header, body), "", "![Attack](results/attack.png)"]
    return "\n".join(out)


SECTIONS = {"http": http_section, "limiter": limiter_section, "xdp": xdp_section, "flood": flood_section, "attack": attack_section}


def markdown(run, findings):
    out = ["# Benchmark results", "",
           f"Written by `make bench` on {run['date']} at commit {run['commit']}. Method: [README.md](README.md). "
           "Raw figures: [results/latest.json](results/latest.json).", ""]
    out += [machine_section(run["machine"]), "", "## Goals", ""]
    out += [table(["goal", "measured", "met"],
                  [[g["goal"], g["measured"], "yes" if g["met"] else "**no**"] for g in run["goals"]]), ""]
    for name in PARTS:
        if name in run["parts"]:
            out += [SECTIONS[name](run["parts"][name]), ""]
        else:
            out += [f"## {name}: not run", "", f"Skipped: {run['skipped'][name]}", ""]
    if findings:
        out += [findings.strip(), ""]
    return "\n".join(out)


# ---------------------------------------------------------------- plots

def gnuplot(script, data, work):
    """`data`'s first line names its columns; gnuplot reads it as a comment."""
    (work / "data.dat").write_text("# " + data)
    subprocess.run(["gnuplot"], input=f"cd '{work}'\n" + script, text=True, check=True)


BARS = """set terminal pngcairo size 900,480 font ',10'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set key outside right top
set grid ytics
set xtics noenhanced
set yrange [0:*]
"""


def plot_http(http, results, work):
    data = "scenario " + " ".join(PROXIES) + "\n"
    for s in http["scenarios"]:
        data += s["id"] + " " + " ".join(str(s["results"].get(p, {}).get("requests_per_s", 0)) for p in PROXIES) + "\n"
    columns = ", ".join(f"'data.dat' using {i + 2}:xtic(1) title '{PROXY_NAMES[p]}'" for i, p in enumerate(PROXIES))
    gnuplot(BARS + f"set output '{results}/http_throughput.png'\nset title 'HTTP requests/s (higher is better)'\n"
            f"plot {columns}\n", data, work)
    data = "run p50 p99 p999\n"
    for s in http["scenarios"]:
        for p in PROXIES:
            if p in s["results"]:
                v = s["results"][p]
                data += f"{s['id']}/{p} {v['p50_ms']} {v['p99_ms']} {v['p999_ms']}\n"
    gnuplot(BARS + f"set output '{results}/http_latency.png'\nset title 'HTTP latency, ms (log scale, lower is better)'\n"
            "set yrange [*:*]\nset logscale y\nset xtics rotate by -35\nset bmargin 9\n"
            "plot 'data.dat' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'\n",
            data, work)


def plot_limiter(limiter, results, work):
    rows = limiter_rows(limiter)
    data = "keys threads1 threads2\n"
    for keys in sorted({k for (_, k, _) in rows}):
        cells = [rows.get(("limiter_decide", keys, t), {}).get("decisions_per_s", 0) for t in (1, 2)]
        data += f"{keys} {cells[0]} {cells[1]}\n"
    gnuplot(BARS + f"set output '{results}/limiter.png'\nset title 'Limiter decisions/s by tracked keys'\n"
            "plot 'data.dat' using 2:xtic(1) title '1 thread', '' using 3 title '2 threads'\n", data, work)


def plot_xdp(xdp, results, work):
    data = "row median floor\n" + "".join(f"{r['id']} {r['median_ns']} {r['floor_ns']}\n" for r in xdp["rows"])
    gnuplot(BARS + f"set output '{results}/xdp.png'\nset title 'XDP ns/packet beside its floor (lower is better)'\n"
            "plot 'data.dat' using 2:xtic(1) title 'Sluice XDP', '' using 3 title 'floor'\n", data, work)


def plot_flood(flood, results, work):
    data = "filter drops_per_cpu_s\n" + "".join(
        f"{name} {(run['dropped_per_cpu_second'] or 0) / 1e6}\n" for name, run in flood["runs"].items())
    gnuplot(BARS + f"set output '{results}/flood.png'\nset title 'Flood: million drops per receiver CPU-second'\n"
            "plot 'data.dat' using 2:xtic(1) title 'Mdrops per CPU-s'\n", data, work)


def plot_attack(attack, results, work):
    data = "variant server_cpu abuser_kreq_s p99_ms\n" + "".join(
        f"{name} {100 * (run['server_cpu_s_per_s'] or 0)} {(run['abuser_requests_to_user_space_per_s'] or 0) / 1e3} "
        f"{run['legit']['p99_ms'] or 0}\n" for name, run in attack["runs"].items())
    gnuplot(BARS + f"set output '{results}/attack.png'\n"
            "set title 'Under attack (lower is better)'\nset ylabel 'server CPU % / abuser k-requests/s'\nset y2label 'legit p99 ms'\n"
            "set y2tics\nset y2range [0:*]\nset ytics nomirror\n"
            "plot 'data.dat' using 2:xtic(1) title 'server CPU, % of one CPU', '' using 3 title 'abuser k-requests/s to user space', "
            "'' using 4 axes x1y2 title 'legit p99 ms (right axis)'\n", data, work)


PLOTS = {"http": plot_http, "limiter": plot_limiter, "xdp": plot_xdp, "flood": plot_flood, "attack": plot_attack}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", required=True, type=pathlib.Path)
    parser.add_argument("--results", required=True, type=pathlib.Path)
    parser.add_argument("--markdown", required=True, type=pathlib.Path)
    parser.add_argument("--findings", type=pathlib.Path)
    args = parser.parse_args()

    run = json.loads((args.parts / "run.json").read_text())
    run["parts"], run["skipped"] = load_parts(args.parts)
    run["goals"] = all_goals(run["parts"])
    findings = args.findings.read_text() if args.findings and args.findings.exists() else ""

    args.results.mkdir(parents=True, exist_ok=True)
    for old in args.results.glob("*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as work:
        for name, part in run["parts"].items():
            PLOTS[name](part, args.results.resolve(), pathlib.Path(work))
    (args.results / "latest.json").write_text(json.dumps(run, indent=2) + "\n")
    args.markdown.write_text(markdown(run, findings))
    for goal in run["goals"]:
        print(f"{'met ' if goal['met'] else 'MISS'}  {goal['goal']}: {goal['measured']}")
    for name, why in run["skipped"].items():
        print(f"skipped {name}: {why}", file=sys.stderr)


if __name__ == "__main__":
    main()
