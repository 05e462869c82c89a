"""Runs tools as child processes and reports what each cost, for scripts/bench.sh.

    measure.py run <log.jsonl> <label> <json bytes> -- <command...>
        runs the command, appends {label, bytes, wall, cpu, rss_mb} to the log; CPU is user +
        system time of the child and its children (getrusage), peak RSS their largest.
    measure.py table <log.jsonl> <results.json> [--record]
        prints the table (tool | wall MB/s | MB per CPU-second | peak RSS) with the loader's
        ratios to the others, warns when the loader is more than 15% slower than the recorded
        figures, and records this run's figures with --record (or when none are recorded yet).
"""
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

SLOWER = 0.15


def run(log, label, nbytes, cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{label}: exited {proc.returncode}: {' '.join(cmd)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest of any child so far: run one tool per process.
    rec = {"label": label, "bytes": int(nbytes), "wall": wall, "cpu": cpu,
           "rss_mb": after.ru_maxrss / 1024}
    with open(log, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(f"{label}: {wall:.1f} s wall, {cpu:.1f} CPU-s, {rec['rss_mb']:.0f} MB peak RSS", file=sys.stderr)


def figures(r):
    mb = r["bytes"] / 1e6
    return {"wall_mb_s": mb / r["wall"], "mb_per_cpu_s": mb / r["cpu"], "peak_rss_mb": r["rss_mb"]}


def table(log, results, record):
    runs = [json.loads(l) for l in pathlib.Path(log).read_text().splitlines() if l.strip()]
    tools = [r for r in runs if not r["label"].startswith("rss:")]
    mb = tools[0]["bytes"] / 1e6
    print(f"\n{mb:.1f} MB of job-result page JSON\n")
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
    rss = [r for r in runs if r["label"].startswith("rss:")]
    if rss:
        print("\n| rebuild memory case | page JSON | peak RSS | MB per CPU-second |")
        print("|---|---|---|---|")
        for r in rss:
            f = figures(r)
            print(f"| {r['label'][4:]} | {r['bytes'] / 1e6:.0f} MB | {f['peak_rss_mb']:.0f} MB | {f['mb_per_cpu_s']:.1f} |")
    path = pathlib.Path(results)
    first = list(figs)[0]
    if path.exists():
        old = json.loads(path.read_text())
        prev = old["tools"].get(first)
        if prev:
            for key in ("mb_per_cpu_s", "wall_mb_s"):
                if loader[key] < prev[key] * (1 - SLOWER):
                    print(f"\nWARNING: {first} {key} {loader[key]:.1f} is more than 15% below the recorded "
                          f"{prev[key]:.1f} ({old['recorded_at']}, {results})")
            print(f"\nrecorded ({old['recorded_at']}): {first} {prev['wall_mb_s']:.1f} MB/s wall, "
                  f"{prev['mb_per_cpu_s']:.1f} MB per CPU-second, {prev['peak_rss_mb']:.0f} MB")
    if record or not path.exists():
        path.write_text(json.dumps({
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end",
            "page_json_mb": round(mb, 1),
            "tools": {k: {kk: round(vv, 1) for kk, vv in v.items()} for k, v in figs.items()},
            "rss": {r["label"][4:]: {"page_json_mb": round(r["bytes"] / 1e6, 1), "peak_rss_mb": round(r["rss_mb"])}
                    for r in rss},
        }, indent=2) + "\n")
        print(f"\nrecorded these figures in {results}")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        sep = sys.argv.index("--")
        run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[sep + 1:])
    elif sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3], "--record" in sys.argv)
    else:
        sys.exit(__doc__)
