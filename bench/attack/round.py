#!/usr/bin/python3
"""The figures of the attack bench (bench/attack/run.sh).

    round.py --dir D --variant V --round N --problem TEXT --abusers 50 --threshold 50 --ticks-per-s 100
        one round: D holds the counter snapshots (alone_before/after.json: the
        legitimate client alone; before/after.json: the attack) and the load
        tool's outputs (alone.json, legit.json, abuse.json); prints one JSON line.
    round.py --summarize ROUNDS.jsonl --variants "a b c" --setup JSON
        the part's JSON: per variant the medians of its valid rounds, and every round.

Definitions (bench/README.md, part 5):
- the attack window runs from the abusers' start for their duration; every
  rate is over it;
- legit figures are over the requests due in the window: success = a 2xx
  within 2 s; latency percentiles over the successful ones, from when each
  was due;
- server CPU = the proxy's processes (user + system, /proc/PID/stat) + the
  host veth's NAPI kthread (its run time, /proc/PID/schedstat: XDP, the skb,
  IP, TCP receive) + CPU 0's softirq time (/proc/stat: what runs outside
  that thread, e.g. loopback to the upstream), per second of the window;
- abuser requests reaching user space = the proxy's request counter minus
  the legitimate client's requests due in the window;
- abuser packets reaching the stack = packets the host veth received minus
  those XDP dropped minus the legitimate client's packets (counted as sent
  in the client namespace);
- time to steady state, two of them, from the attack's start, in 0.1 s
  steps: `legit` the first moment from which every 1 s window of legit
  requests (by when they were due) has >= 99% success until the end;
  `abuse` the first moment from which every 1 s window has at most
  THRESHOLD abuser answers (requests the proxy read and answered) until the
  end. null: not reached within the window.
"""
import argparse
import json
import pathlib
import sys

BUCKET_S = 0.1


def load(d, name):
    return json.loads((d / name).read_text())


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, int(-(-q / 100 * len(sorted_values) // 1)) - 1))
    return sorted_values[rank]


def steady_from(ok_windows):
    """Index of the first window from which every window is ok; None if the last is not."""
    first = None
    for i, ok in enumerate(ok_windows):
        if ok:
            if first is None:
                first = i
        else:
            first = None
    return first


def one_round(args):
    d = pathlib.Path(args.dir)
    row = {"variant": args.variant, "round": args.round}
    problems = [args.problem] if args.problem else []
    needed = ["alone_before.json", "alone_after.json", "alone.json", "before.json", "after.json", "legit.json",
              "abuse.json"]
    missing = [n for n in needed if not (d / n).exists()]
    if missing:
        problems.append("missing " + ", ".join(missing))
        row.update(valid=False, why="; ".join(problems))
        return row
    a0, a1, alone = load(d, "alone_before.json"), load(d, "alone_after.json"), load(d, "alone.json")
    b, a, legit, abuse = load(d, "before.json"), load(d, "after.json"), load(d, "legit.json"), load(d, "abuse.json")
    tps = args.ticks_per_s

    def delta(f, x=a, y=b):
        return f(x) - f(y)

    def xdp_drops(s):
        x = s.get("xdp", {})
        return x.get("blocked", 0) + x.get("rate_dropped", 0) + x.get("deny_listed", 0)

    window = delta(lambda s: s["t_us"]) / 1e6
    proxy_cpu = delta(lambda s: s["proxy_ticks"]) / tps
    napi_cpu = delta(lambda s: s["napi_ns"]) / 1e9
    softirq_cpu = delta(lambda s: s["cpu0_softirq"]) / tps
    upstream_cpu = delta(lambda s: s["upstream_ticks"]) / tps
    cpu0_busy = 100 * (1 - delta(lambda s: s["cpu0_idle"]) / max(1, delta(lambda s: s["cpu0_total"])))

    # The legitimate client's requests due in the attack window.
    rate, timeout_s = legit["rate"], legit["timeout_ms"] / 1000
    offset = (abuse["start_realtime_us"] - legit["start_realtime_us"]) / 1e6
    lat = legit["latency_us"]
    first = max(0, int(offset * rate + 0.999999))
    last = int((offset + abuse["duration_s"]) * rate)
    in_window = lat[first:min(last, len(lat))]
    ok = sorted(v / 1000 for v in in_window if v >= 0)
    legit_row = {
        "requests": len(in_window), "succeeded": len(ok),
        "success_rate": len(ok) / len(in_window) if in_window else None,
        "p50_ms": percentile(ok, 50), "p99_ms": percentile(ok, 99), "p999_ms": percentile(ok, 99.9),
        "max_ms": ok[-1] if ok else None,
    }
    alone_lat = alone["latency_us"]
    alone_ok = sum(1 for v in alone_lat if v >= 0)

    # Steady states, 1 s windows stepped by 0.1 s.
    tl = legit["timeline"]
    start_b = int(round(offset / BUCKET_S))
    n_b = int(round(abuse["duration_s"] / BUCKET_S))
    per_window = int(round(1 / BUCKET_S))
    legit_ok = []
    for w in range(0, n_b - per_window + 1):
        lo, hi = start_b + w, start_b + w + per_window
        due = sum(tl["due"][lo:hi])
        succeeded = sum(tl["succeeded"][lo:hi])
        legit_ok.append(due > 0 and succeeded >= 0.99 * due)
    ab = abuse["timeline"]["answered"]
    abuse_ok = [sum(ab[w:w + per_window]) <= args.threshold for w in range(0, n_b - per_window + 1)]
    steady_legit = steady_from(legit_ok)
    steady_abuse = steady_from(abuse_ok)

    legit_packets = delta(lambda s: s["legit_packets"])
    abuser_sent = delta(lambda s: s["abuser_packets"])
    received = delta(lambda s: s["host_rx"])
    dropped = delta(xdp_drops)
    to_stack = max(0, received - dropped - legit_packets)
    proxy_requests = None
    if a.get("proxy_requests") is not None and b.get("proxy_requests") is not None:
        proxy_requests = a["proxy_requests"] - b["proxy_requests"]
    abuser_requests = None if proxy_requests is None else max(0, proxy_requests - len(in_window))
    abuser_answers = abuse["ok"] + abuse["limited"] + abuse["other_status"]

    # The second half of the window (from the snapshot taken half way).
    half = {}
    if (d / "mid.json").exists():
        m = load(d, "mid.json")
        hw = delta(lambda s: s["t_us"], a, m) / 1e6
        h_received = delta(lambda s: s["host_rx"], a, m)
        h_dropped = delta(xdp_drops, a, m)
        h_legit = delta(lambda s: s["legit_packets"], a, m)
        h_requests = None
        if a.get("proxy_requests") is not None and m.get("proxy_requests") is not None:
            h_requests = max(0, a["proxy_requests"] - m["proxy_requests"] - rate * hw)
        half = {
            "window_s": hw,
            "abuser_requests_to_user_space_per_s": None if h_requests is None else h_requests / hw,
            "abuser_packets_to_stack_per_s": max(0, h_received - h_dropped - h_legit) / hw,
            "abuser_packets_sent_per_s": delta(lambda s: s["abuser_packets"], a, m) / hw,
            "server_cpu_s_per_s": (delta(lambda s: s["proxy_ticks"], a, m) / tps + delta(lambda s: s["napi_ns"], a, m) / 1e9
                                   + delta(lambda s: s["cpu0_softirq"], a, m) / tps) / hw,
        }
    row.update({
        "window_s": window,
        "second_half": half,
        "legit": legit_row,
        "server_cpu_s_per_s": (proxy_cpu + napi_cpu + softirq_cpu) / window,
        "proxy_cpu_s_per_s": proxy_cpu / window,
        "napi_cpu_s_per_s": napi_cpu / window,
        "softirq_cpu_s_per_s": softirq_cpu / window,
        "upstream_cpu_s_per_s": upstream_cpu / window,
        "cpu0_busy_percent": cpu0_busy,
        "abuser_requests_to_user_space": abuser_requests,
        "abuser_requests_to_user_space_per_s": None if abuser_requests is None else abuser_requests / window,
        "abuser_answers_per_s": abuser_answers / window,
        "abuser_answers": {"ok": abuse["ok"], "429": abuse["limited"], "other": abuse["other_status"]},
        "abuser_connects_per_s": abuse["connects"] / window,
        "abuser_timeouts": {"connect": abuse["connect_timeouts"], "answer": abuse["answer_timeouts"]},
        "abuser_errors": abuse["errors"],
        "abuser_packets_sent_per_s": abuser_sent / window,
        "abuser_packets_to_stack_per_s": to_stack / window,
        "xdp_dropped_per_s": dropped / window,
        "host_rx_per_s": received / window,
        "listen_drops_per_s": delta(lambda s: s.get("listen_drops", 0)) / window,
        "sluice_blocks_at_end": a.get("sluice_blocks"),
        "ring_drops_per_s": delta(lambda s: s["ring_drops"]) / window,
        "legit_packets": legit_packets,
        "time_to_steady_state_s": {
            "legit": None if steady_legit is None else round(steady_legit * BUCKET_S, 1),
            "abuse": None if steady_abuse is None else round(steady_abuse * BUCKET_S, 1),
        },
        "xdp_counters": {k: v - b.get("xdp", {}).get(k, 0) for k, v in a.get("xdp", {}).items()},
    })

    # Sanity: a round that fails one is marked invalid, not used.
    if not alone_lat or alone_ok != len(alone_lat):
        problems.append(f"sanity: the legitimate client alone had {len(alone_lat) - alone_ok} of {len(alone_lat)} "
                        "requests fail")
    if args.variant == "sluice_xdp":
        alone_packets = a1["legit_packets"] - a0["legit_packets"]
        seen = a1.get("xdp", {}).get("passed", 0) - a0.get("xdp", {}).get("passed", 0)
        if alone_packets <= 0 or seen < alone_packets:
            problems.append(f"sanity: XDP passed {seen} packets while the legitimate client alone sent {alone_packets}")
        if xdp_drops(a1) != xdp_drops(a0):
            problems.append(f"sanity: XDP dropped {xdp_drops(a1) - xdp_drops(a0)} packets of the legitimate client alone")
        if a.get("xdp", {}).get("blocked", 0) - b.get("xdp", {}).get("blocked", 0) <= 0:
            problems.append("no abuser packet was dropped as blocked in XDP (no escalation)")
    if abuse["connects"] == 0 or abuser_sent < 1000 * window:
        problems.append(f"the abusers sent only {abuser_sent} packets")
    if not in_window:
        problems.append("no legitimate request was due in the window")
    if proxy_requests is None:
        problems.append("the proxy's request counter could not be read")
    # The packet accounting assumes the host veth counts what XDP dropped as received.
    ring_drops = delta(lambda s: s["ring_drops"])
    if received + ring_drops < 0.95 * (abuser_sent + legit_packets):
        problems.append(f"the host veth counted {received} packets received and {ring_drops} lost on its ring "
                        f"of {abuser_sent + legit_packets} sent")
    row["valid"] = not problems
    if problems:
        row["why"] = "; ".join(problems)
    return row


def median(values):
    """None (never reached) sorts last."""
    if not values:
        return None
    s = sorted(values, key=lambda v: (v is None, v if v is not None else 0))
    n = len(s)
    if n % 2 == 1:
        return s[n // 2]
    lo, hi = s[n // 2 - 1], s[n // 2]
    return None if lo is None or hi is None else (lo + hi) / 2


def summarize(args):
    rounds = [json.loads(line) for line in pathlib.Path(args.summarize).read_text().splitlines() if line.strip()]
    runs = {}
    for v in args.variants.split():
        mine = [r for r in rounds if r["variant"] == v]
        valid = [r for r in mine if r.get("valid")]
        use = valid or [r for r in mine if "legit" in r]
        run = {}
        for key in ("server_cpu_s_per_s", "proxy_cpu_s_per_s", "napi_cpu_s_per_s", "softirq_cpu_s_per_s",
                    "upstream_cpu_s_per_s", "ring_drops_per_s", "cpu0_busy_percent", "abuser_requests_to_user_space_per_s", "abuser_answers_per_s",
                    "abuser_packets_sent_per_s", "abuser_packets_to_stack_per_s", "xdp_dropped_per_s",
                    "abuser_connects_per_s"):
            run[key] = median([r[key] for r in use if r.get(key) is not None])
        run["second_half"] = {k: median([r["second_half"][k] for r in use if r.get("second_half", {}).get(k) is not None])
                              for k in ("abuser_requests_to_user_space_per_s", "abuser_packets_to_stack_per_s",
                                        "abuser_packets_sent_per_s", "server_cpu_s_per_s")}
        run["legit"] = {k: median([r["legit"][k] for r in use if r["legit"].get(k) is not None])
                        for k in ("success_rate", "p50_ms", "p99_ms", "p999_ms", "max_ms")}
        run["time_to_steady_state_s"] = {k: median([r["time_to_steady_state_s"][k] for r in use])
                                         for k in ("legit", "abuse")}
        run["valid_rounds"] = len(valid)
        run["valid"] = bool(mine) and len(valid) == len(mine)
        if not run["valid"]:
            run["why"] = "; ".join(f"round {r['round']}: {r.get('why', '')}" for r in mine if not r.get("valid"))
        run["rounds"] = [{k: x for k, x in r.items() if k != "variant"} for r in mine]
        runs[v] = run
    json.dump({"setup": json.loads(args.setup), "runs": runs}, sys.stdout, indent=2)
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir")
    p.add_argument("--variant")
    p.add_argument("--round", type=int)
    p.add_argument("--problem", default="")
    p.add_argument("--abusers", type=int, default=50)
    p.add_argument("--threshold", type=float, default=50)
    p.add_argument("--ticks-per-s", type=float, default=100)
    p.add_argument("--summarize")
    p.add_argument("--variants")
    p.add_argument("--setup")
    args = p.parse_args()
    if args.summarize:
        summarize(args)
    else:
        print(json.dumps(one_round(args)))


if __name__ == "__main__":
    main()
