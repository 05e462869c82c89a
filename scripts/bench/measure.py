"""Runs tools as child processes and reports what each cost, for scripts/bench.sh.

    measure.py run <log.jsonl> <label> <json bytes> -- <command...>
        runs the command, appends {label, bytes, wall, cpu, sys, faults, rss_mb} to the log; CPU
        is user + system time of the child and its children (getrusage), `sys` the system part,
        `faults` their minor page faults, peak RSS their largest.
    measure.py table <log.jsonl> <results.json> [--record] [--loader PATH]
        prints the table (tool | wall MB/s | MB per CPU-second | peak RSS) with the loader's
        ratios to the others and each tool's system time and page faults, the memory cases
        (labels `rss:...`) and the other datasets' rebuilds (labels `dataset:<name>`) against
        conversations and, where DuckDB made the same dataset's rows (labels
        `duckdb:<name>`), against DuckDB; warns when the loader is more than 15% slower than
        the recorded figures, and records this run's figures with --record (or when none are
        recorded yet). --loader names the loader binary timed (plain release or the
        profile-guided build): it is recorded, and a run of another binary than the recorded
        one says so beside the comparison.
        A tool run several times (alternating with the others) is reported by its median run.

Why medians of alternating runs, and why the ratios are checked too: on a shared VM the same
binary's CPU time moves by 10-20% within minutes and by up to 2x from one day to the next.
Alternating the tools exposes them to the same drift, the median drops a run caught by a
neighbour's burst, and the loader's ratio to DuckDB and Python (which drift alike) tells a
slower machine from a slower loader.
"""
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

SLOWER = 0.15


def run(log, label, nbytes, cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # The loader's run summary goes to stderr: kept out of the bench's output unless it fails.
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stderr.buffer.write(proc.stderr[-4000:])
        sys.exit(f"{label}: exited {proc.returncode}: {' '.join(cmd)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest of any child so far: run one tool per process.
    rec = {"label": label, "bytes": int(nbytes), "wall": wall, "cpu": cpu,
           "sys": after.ru_stime - before.ru_stime, "faults": after.ru_minflt - before.ru_minflt,
           "rss_mb": after.ru_maxrss / 1024}
    with open(log, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(f"{label}: {wall:.1f} s wall, {cpu:.1f} CPU-s, {rec['rss_mb']:.0f} MB peak RSS", file=sys.stderr)


def figures(r):
    mb = r["bytes"] / 1e6
    return {"wall_mb_s": mb / r["wall"], "mb_per_cpu_s": mb / r["cpu"], "peak_rss_mb": r["rss_mb"]}


def medians(runs):
    """One record per label, in first-seen order: the median wall and CPU of its runs (each
    on its own), the largest peak RSS, and how many runs there were."""
    by = {}
    for r in runs:
        by.setdefault(r["label"], []).append(r)
    return [{"label": label, "bytes": rs[0]["bytes"], "runs": len(rs),
             "wall": statistics.median(r["wall"] for r in rs), "cpu": statistics.median(r["cpu"] for r in rs),
             "sys": statistics.median(r["sys"] for r in rs),
             "faults": statistics.median(r["faults"] for r in rs),
             "rss_mb": max(r["rss_mb"] for r in rs)} for label, rs in by.items()]


def table(log, results, record, binary=None):
    runs = [json.loads(l) for l in pathlib.Path(log).read_text().splitlines() if l.strip()]
    tools = medians([r for r in runs if not r["label"].startswith(("rss:", "dataset:", "duckdb:"))])
    mb = tools[0]["bytes"] / 1e6
    n = min(t["runs"] for t in tools)
    each = f", each tool the median of {n} runs, alternating" if n > 1 else ""
    print(f"\n{mb:.1f} MB of job-result page JSON{each}\n")
    print("| tool | wall MB/s | MB per CPU-second | peak RSS |")
    print("|---|---|---|---|")
    figs = {r["label"]: figures(r) for r in tools}
    for label, f in figs.items():
        print(f"| {label} | {f['wall_mb_s']:.1f} | {f['mb_per_cpu_s']:.1f} | {f['peak_rss_mb']:.0f} MB |")
    loader = next(iter(figs.values()))
    for label, f in list(figs.items())[1:]:
        print(f"\nloader vs {label}: {loader['mb_per_cpu_s'] / f['mb_per_cpu_s']:.1f}x per CPU-second, "
              f"{loader['wall_mb_s'] / f['wall_mb_s']:.1f}x wall", end="")
    print()
    # On a VM the kernel's page faults (first touches of a process's memory) are a large part
    # of the CPU counted above, and they follow each tool's peak memory: shown so that a run on
    # another machine can be read (benches/profile.md, "Fourteenth round").
    print("\nsystem time (of the CPU above) and minor page faults, medians:")
    for t in tools:
        share = t["sys"] / t["cpu"] if t["cpu"] > 0 else 0
        print(f"  {t['label']}: {100 * share:.0f}% system, {t['faults']:,.0f} faults")
    rss = medians([r for r in runs if r["label"].startswith("rss:")])
    if rss:
        print("\n| rebuild memory case | page JSON | peak RSS | MB per CPU-second |")
        print("|---|---|---|---|")
        for r in rss:
            f = figures(r)
            print(f"| {r['label'][4:]} | {r['bytes'] / 1e6:.0f} MB | {f['peak_rss_mb']:.0f} MB | {f['mb_per_cpu_s']:.1f} |")
        top = max(rss, key=lambda r: r["rss_mb"])
        low = min(rss, key=lambda r: r["rss_mb"])
        print(f"\npeak RSS from {low['rss_mb']:.0f} MB ({low['label'][4:]}) to {top['rss_mb']:.0f} MB "
              f"({top['label'][4:]}); the target is under 300 MB in every case"
              + ("" if top["rss_mb"] < 300 else ": OVER"))
    datasets = medians([r for r in runs if r["label"].startswith("dataset:")])
    # DuckDB making a dataset's rows from the same pages (`duckdb:<dataset>`), where the bench
    # has such a script: the loader's ratio to it per CPU-second.
    duck = {r["label"][7:]: figures(r) for r in medians([r for r in runs if r["label"].startswith("duckdb:")])}
    duck_conv = figs.get(next((l for l in figs if l.startswith("DuckDB")), ""), None)
    vs_duck = {}
    if datasets:
        print("\n| rebuild of each partitioned dataset, same days | page JSON | MB per CPU-second | "
              "against conversations | against DuckDB | peak RSS |")
        print("|---|---|---|---|---|---|")
        conv_duck = f"{loader['mb_per_cpu_s'] / duck_conv['mb_per_cpu_s']:.1f}x" if duck_conv else "-"
        print(f"| conversations | {mb:.1f} MB | {loader['mb_per_cpu_s']:.1f} | 1.00 | {conv_duck} | "
              f"{loader['peak_rss_mb']:.0f} MB |")
        for r in datasets:
            f, name = figures(r), r["label"][8:]
            if name in duck and duck[name]["mb_per_cpu_s"] > 0:
                vs_duck[name] = f["mb_per_cpu_s"] / duck[name]["mb_per_cpu_s"]
            against = f"{vs_duck[name]:.1f}x ({duck[name]['mb_per_cpu_s']:.1f})" if name in vs_duck else "-"
            print(f"| {name} | {r['bytes'] / 1e6:.1f} MB | {f['mb_per_cpu_s']:.1f} | "
                  f"{f['mb_per_cpu_s'] / loader['mb_per_cpu_s']:.2f} | {against} | {f['peak_rss_mb']:.0f} MB |")
        print("\n(a dataset of a few MB is timed with the process's fixed costs: start, manifests, files;"
              "\n against DuckDB: the loader's MB per CPU-second over DuckDB's, DuckDB's in brackets)")
    path = pathlib.Path(results)
    first = list(figs)[0]
    if path.exists():
        old = json.loads(path.read_text())
        prev = old["tools"].get(first)
        if prev:
            slower = False
            for key in ("mb_per_cpu_s", "wall_mb_s"):
                if loader[key] < prev[key] * (1 - SLOWER):
                    slower = True
                    print(f"\nWARNING: {first} {key} {loader[key]:.1f} is more than 15% below the recorded "
                          f"{prev[key]:.1f} ({old['recorded_at']}, {results})")
            # The same comparison against the tools run beside it: a slower machine slows
            # them alike and leaves the ratio; a slower loader moves the ratio.
            relative_ok = True
            for label, f in list(figs.items())[1:]:
                then = old["tools"].get(label)
                if not then:
                    continue
                now_ratio = loader["mb_per_cpu_s"] / f["mb_per_cpu_s"]
                then_ratio = prev["mb_per_cpu_s"] / then["mb_per_cpu_s"]
                if now_ratio < then_ratio * (1 - SLOWER):
                    relative_ok = False
                    print(f"\nWARNING: per CPU-second the loader is {now_ratio:.1f}x {label}, more than 15% "
                          f"below the recorded {then_ratio:.1f}x: the loader itself is slower")
            if slower and relative_ok:
                print("\nThe reference tools slowed alike (the loader's ratios to them are within 15% of "
                      "the recorded ones): the machine ran slower than when the figures were recorded, "
                      "not the loader.")
            print(f"\nrecorded ({old['recorded_at']}): {first} {prev['wall_mb_s']:.1f} MB/s wall, "
                  f"{prev['mb_per_cpu_s']:.1f} MB per CPU-second, {prev['peak_rss_mb']:.0f} MB")
            # The plain and the profile-guided build differ by about 10% of CPU (benches/profile.md,
            # "Twenty-first round"): a comparison across builds says which is which.
            then_binary = old.get("loader", "target/release/genesys-loader")
            if binary and binary != then_binary:
                print(f"(the recorded figures timed {then_binary}; this run timed {binary})")
    if record or not path.exists():
        path.write_text(json.dumps({
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end",
            "page_json_mb": round(mb, 1),
            "runs_per_tool": n,
            **({"loader": binary} if binary else {}),
            "tools": {k: {kk: round(vv, 1) for kk, vv in v.items()} for k, v in figs.items()},
            "rss": {r["label"][4:]: {"page_json_mb": round(r["bytes"] / 1e6, 1), "peak_rss_mb": round(r["rss_mb"])}
                    for r in rss},
            "datasets": {r["label"][8:]: {"page_json_mb": round(r["bytes"] / 1e6, 1),
                                          **{k: round(v, 1) for k, v in figures(r).items()},
                                          **({"duckdb_mb_per_cpu_s": round(duck[r["label"][8:]]["mb_per_cpu_s"], 1),
                                              "vs_duckdb_per_cpu_s": round(vs_duck[r["label"][8:]], 2)}
                                             if r["label"][8:] in vs_duck else {})}
                         for r in datasets},
        }, indent=2) + "\n")
        print(f"\nrecorded these figures in {results}")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        sep = sys.argv.index("--")
        run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[sep + 1:])
    elif sys.argv[1] == "table":
        args = sys.argv[4:]
        binary = args[args.index("--loader") + 1] if "--loader" in args else None
        table(sys.argv[2], sys.argv[3], "--record" in args, binary)
    else:
        sys.exit(__doc__)
