"""How many cores a process kept busy, interval by interval, from `perf sched timehist`.

    perf sched record -o sched.data -- target/release/genesys-loader rebuild ...
    perf sched timehist -i sched.data > timehist.txt
    python3 scripts/bench/cores.py timehist.txt [interval seconds, default 0.01] [name ...]

Prints the span from the process's first to its last moment on a CPU, the CPU time in it, the
share of the span the cores were busy (CPU over span × cores), and one figure per interval:
the cores the process's threads (comm containing any name given; default `genesys` and `tokio`)
ran on, on average, in it. A run's wall time falls with its CPU time only where the cores are
busy; this shows where they are not (benches/profile.md, "Twenty-second round").
"""
import os
import sys


def main(path, interval=0.01, names=("genesys", "tokio")):
    spans = []
    for line in open(path):
        fields = line.split()
        if len(fields) < 6:
            continue
        try:
            end, ran_ms = float(fields[0]), float(fields[-1])
        except ValueError:
            continue  # the header
        task = " ".join(fields[2:-3])
        if any(n in task for n in names):
            spans.append((end - ran_ms / 1000, end))
    if not spans:
        sys.exit(f"no task named {' or '.join(names)} in {path}")
    first, last = min(a for a, _ in spans), max(b for _, b in spans)
    busy = [0.0] * (int((last - first) / interval) + 1)
    for a, b in spans:
        for i in range(int((a - first) / interval), int((b - first) / interval) + 1):
            lo, hi = max(a, first + i * interval), min(b, first + (i + 1) * interval)
            if hi > lo and i < len(busy):
                busy[i] += hi - lo
    cpu = sum(b - a for a, b in spans)
    cores = os.cpu_count() or 1
    print(f"span {last - first:.3f} s, CPU {cpu:.3f} s, cores busy {100 * cpu / ((last - first) * cores):.0f}% "
          f"of {cores}")
    print(" ".join(f"{b / interval:.1f}" for b in busy))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.01, tuple(sys.argv[3:]) or ("genesys", "tokio"))
