"""Scaling of placewise.distributed on this machine, and a projection for a national study.

Not a test. Measures, with a LocalCluster of 1 and of 2 worker processes (one thread each):

* a 200-replicate feedback study (replicates as tasks through the core's `replicate_ids`), and
* a 40-jurisdiction audit (synthetic jurisdictions of 1 000–6 000 incidents, the full
  `placewise audit` chain each, with a short backtest and feedback simulation),

printed as wall and CPU times, peak RSS per worker, the load average, and the speed-up ratio
1 → 2 workers. Then one audit task alone in a fresh process at four (incidents, cell size)
shapes up to 200 k incidents and 25 600 cells: CPU seconds and peak RSS, fitted as linear in
incidents and cells. From that model, the task count and the bytes shipped per task, a
projection (stated as one) of a national study (500 jurisdictions, 20 M incidents) on 8 and 64
workers.

    python bench/dask_scaling.py [--jurisdictions 40] [--replicates 200] [--repeats 2] [--skip feedback,audit]

On a shared 2-core machine the 2-worker figure is bounded by the cores other processes leave.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from typing import Any
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "tests"))

CHAIN = dict(models=("kde",), model="kde", units=10, strategy="fair", feedback_rounds=2, feedback_replicates=1, seed=0)


def jurisdictions(folder: Path, n: int) -> list:
    from test_distributed import synthetic  # the tests' synthetic city generator

    sizes = np.linspace(1000, 6000, n).astype(int)
    return [synthetic(folder / f"j{i:03d}", f"J{i:03d}", seed=100 + i, n=int(s)) for i, s in enumerate(sizes)]


def _worker_usage() -> dict[str, float]:
    """This worker process's CPU seconds so far and peak resident memory (MB)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": r.ru_utime + r.ru_stime, "peak_mb": r.ru_maxrss / 1024}


def _self_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Run:
    """One timed run on a fresh LocalCluster: wall, CPU (workers and this process), peak RSS per worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def __call__(self, warm, work):
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as lc, Client(lc) as c:
            warm(c)  # imports and first-call costs, not timed
            before = c.run(_worker_usage)
            load0, cpu0 = os.getloadavg()[0], _self_cpu()
            t0 = time.perf_counter()
            result = work(c)
            self.wall = time.perf_counter() - t0
            self.client_cpu = _self_cpu() - cpu0
            after = c.run(_worker_usage)
            self.load = (load0, os.getloadavg()[0])
        self.worker_cpu = sum(after[w]["cpu"] - before[w]["cpu"] for w in after)
        self.peak_mb = [after[w]["peak_mb"] for w in sorted(after)]
        self.idle_mb = [before[w]["peak_mb"] for w in sorted(before)]
        return result

    def line(self) -> str:
        return (f"{self.workers} worker{'s' if self.workers > 1 else ''}: wall {self.wall:.1f} s, CPU {self.worker_cpu:.1f} s "
                f"in workers + {self.client_cpu:.1f} s here, peak RSS per worker "
                f"{', '.join(f'{m:.0f}' for m in self.peak_mb)} MB (after warm-up {', '.join(f'{m:.0f}' for m in self.idle_mb)} MB), "
                f"load average {self.load[0]:.1f} → {self.load[1]:.1f}")


def audit_runs(js: list) -> tuple[Run, Run, Any, Any]:
    from placewise import distributed as D

    runs, results = [], []
    for w in (1, 2):
        run = Run(w)
        results.append(run(lambda c, w=w: D.audit_many(js[:w], client=c, **CHAIN),
                           lambda c: D.audit_many(js, client=c, **CHAIN)))
        runs.append(run)
    return runs[0], runs[1], results[0], results[1]


def feedback_study(replicates: int, per_task: int, repeats: int = 1) -> tuple[float, int, float, float]:
    """Times the study on 1 and 2 workers; returns (seconds per task on 1 worker, tasks, bytes out, bytes back)."""
    import placewise as pw
    from placewise import distributed as D
    from placewise.audit import feedback as serial

    city = pw.datasets.load_chicago(cell_size=500)
    truth = pw.KDE(bandwidth=2000, mode="binned").fit(city.incidents, city.grid).predict()
    kw = dict(grid=city.grid, truth=truth, model=pw.Naive(window_days=None), strategy="top_k", budget=20, rounds=20,
              replicates=replicates, seed=0)
    runs, results = [], []
    for w in (1, 2) * repeats:  # interleaved, so that a change in the machine's load hits both
        run = Run(w)
        results.append(run(lambda c: D.feedback(client=c, replicates_per_task=per_task, **{**kw, "replicates": 2 * w}),
                           lambda c: D.feedback(client=c, replicates_per_task=per_task, **kw)))
        runs.append(run)
    same = all(r.rounds.equals(results[0].rounds) for r in results)
    one = serial(**kw, replicate_ids=list(range(per_task)), workers=1)
    same_serial = results[0].rounds[results[0].rounds["replicate"] < per_task].reset_index(drop=True).equals(
        one.rounds.reset_index(drop=True))
    tasks = -(-replicates // per_task)
    out_b = len(pickle.dumps({k: v for k, v in kw.items() if k not in ("grid", "truth")})) + 8 * per_task
    back_b = len(pickle.dumps(one))
    print(f"\n{replicates}-replicate feedback study (Chicago sample, 500 m cells, {city.grid.n_active} active, "
          f"20 rounds, {per_task} replicates per task, {tasks} tasks, one Rust thread per task):")
    for r in runs:
        print("  " + r.line())
    best = {w: min(r.wall for r in runs if r.workers == w) for w in (1, 2)}
    print(f"  speed-up 1 → 2 workers: {best[1] / best[2]:.2f}× wall (best of {repeats} each; per pair "
          + ", ".join(f"{a.wall / b.wall:.2f}×" for a, b in zip(runs[::2], runs[1::2])) + ") "
          f"(results identical with 1 and 2 workers: {same}; first task equal to the single-process run: {same_serial})")
    print(f"  per task: {runs[0].wall / tasks:.3f} s wall, {runs[0].worker_cpu / tasks:.3f} s CPU on 1 worker; shipped "
          f"{out_b} B out per task (grid and truth scattered once), {back_b / 1e3:.0f} kB back")
    return runs[0].worker_cpu / tasks, tasks, out_b, back_b


_ONE_TASK = """\
import pickle, resource, sys, time
from placewise import distributed as D
j, chain = pickle.load(open(sys.argv[1], "rb"))
def rss(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the current RSS
base = rss("VmRSS:")
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
r = D.audit_one(j, **chain)
wall = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
assert r.status != "failed", r.error
cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
print(cpu, wall, base, rss("VmHWM:"), len(pickle.dumps(r)), r.row["active_cells"])
"""


def one_task_costs(folder: Path, shapes: tuple[tuple[int, float], ...]) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One audit task per (incidents, cell size), each in a fresh process: CPU seconds, wall, RSS
    after imports and peak RSS during the task (VmHWM, reset before it). Returns the linear
    models [at 0, per incident, per active cell] of CPU seconds and of task memory (MB), the RSS
    after imports and the bytes of a result."""
    import subprocess

    from test_distributed import synthetic

    rows = []
    for n, cell in shapes:
        j = synthetic(folder / f"one{n}", f"One {n}", seed=7, n=n)
        j.cell_size = cell
        spec = folder / f"one{n}-{cell:g}.pkl"
        spec.write_bytes(pickle.dumps((j, CHAIN)))
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, "-c", _ONE_TASK, str(spec)], capture_output=True, text=True, check=True)
        cpu, wall, base, peak, back, cells = map(float, out.stdout.split()[-6:])
        rows.append((n, cells, cpu, peak - base, back))
        print(f"  {n:>7} incidents, {cell:>3g} m cells ({cells:>6.0f} active): CPU {cpu:.1f} s, wall {wall:.1f} s "
              f"(load average {load:.1f}), RSS {base:.0f} MB after imports, peak {peak:.0f} MB during the task "
              f"(+{peak - base:.0f} MB), result {back / 1e3:.0f} kB")
    x = np.array([[1.0, r[0], r[1]] for r in rows])
    cpu_m = np.linalg.lstsq(x, np.array([r[2] for r in rows]), rcond=None)[0]
    mem_m = np.linalg.lstsq(x, np.array([r[3] for r in rows]), rcond=None)[0]
    print(f"  least-squares fits over {len(rows)} tasks: CPU {cpu_m[0]:.2f} s + {cpu_m[1] * 1e6:.2f} s per million "
          f"incidents + {cpu_m[2] * 1e3:.2f} s per thousand cells; task memory {mem_m[0]:.0f} MB + "
          f"{mem_m[1] * 1e6:.0f} MB per million incidents + {mem_m[2] * 1e3:.1f} MB per thousand cells, on top of "
          f"{base:.0f} MB after imports")
    return cpu_m, mem_m, float(base), float(np.mean([r[4] for r in rows]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jurisdictions", type=int, default=40)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--replicates-per-task", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=1, help="interleaved 1- and 2-worker runs of the feedback study")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: feedback, audit")
    a = ap.parse_args()
    import dask

    import placewise as pw

    skip = {x.strip() for x in a.skip.split(",") if x.strip()}
    print(f"placewise {pw.__version__}, dask {dask.__version__}, {os.cpu_count()} CPUs visible, "
          f"load average now {os.getloadavg()[0]:.1f} (a shared machine: 2 workers get 2 cores only when they are free)")
    fb = None if "feedback" in skip else feedback_study(a.replicates, a.replicates_per_task, a.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        if "audit" not in skip:
            js = jurisdictions(Path(tmp), a.jurisdictions)
            r1, r2, res1, res2 = audit_runs(js)
            same = all(x.row == y.row for x, y in zip(res1.results, res2.results))
            ok = sum(r.status != "failed" for r in res1.results)
            print(f"\n{a.jurisdictions}-jurisdiction audit (synthetic, 1 000–6 000 incidents each, full chain; "
                  f"{ok} completed):")
            for r in (r1, r2):
                print("  " + r.line())
            print(f"  speed-up 1 → 2 workers: {r1.wall / r2.wall:.2f}× wall (results identical: {same}); "
                  f"shipped {np.mean([len(pickle.dumps(j)) for j in js]):.0f} B out per task")
        print("\none audit task, alone in a fresh process (per-task cost and memory for the projection):")
        cpu_m, mem_m, base, back = one_task_costs(Path(tmp), ((2_000, 250), (200_000, 250), (200_000, 50),
                                                               (20_000, 25)))
        project(cpu_m, mem_m, back, base, fb)


def project(cpu_m: np.ndarray, mem_m: np.ndarray, back_bytes: float, base_mb: float,
            fb: tuple[float, int, float, float] | None) -> None:
    """National study: 500 jurisdictions, 20 M incidents (40 k on average, the largest 1 M)."""
    rng = np.random.default_rng(0)
    sizes = rng.lognormal(mean=0.0, sigma=1.2, size=500)
    sizes = np.round(sizes / sizes.sum() * 20e6)
    sizes[np.argmax(sizes)] = max(sizes.max(), 1e6)
    # Assumed grid: about 10 incidents per active cell (Chicago, 230 k incidents a year on 27 k
    # cells of 150 m), at least 256 and at most 30 000 cells.
    cells = np.clip(sizes / 10, 256, 30_000)
    task_s = np.maximum(cpu_m[0] + cpu_m[1] * sizes + cpu_m[2] * cells, 0.0)
    task_mb = base_mb + np.maximum(mem_m[0] + mem_m[1] * sizes + mem_m[2] * cells, 0.0)
    per_task_overhead = 0.005  # scheduler round trip per task (Dask docs: ~1 ms; taken 5× for safety)
    bw = 100e6  # bytes/s of result traffic to the client (1 Gb/s network, shared)
    print("\nPROJECTION (not a measurement): 500 jurisdictions, 20 M incidents (log-normal sizes, largest "
          f"{sizes.max() / 1e6:.1f} M, median {np.median(sizes) / 1e3:.0f} k), from the one-task CPU model above, "
          "largest first (longest-processing-time) order, on cores nobody else uses")
    for w in (8, 64):
        loads = np.zeros(w)
        for t in np.sort(task_s)[::-1]:
            loads[np.argmin(loads)] += t
        makespan = loads.max() + 500 * per_task_overhead / w + 500 * back_bytes / bw
        print(f"  {w:>2} workers: ~{makespan / 60:.1f} min (total work {task_s.sum() / 3600:.2f} CPU-h; the largest "
              f"task, {task_s.max() / 60:.1f} min, bounds it from below)")
    print(f"  memory per worker: ~{task_mb.max() / 1024:.2f} GB for the largest jurisdiction, "
          f"~{np.median(task_mb) / 1024:.2f} GB for a median one (RSS after imports + the task model; cells assumed "
          "= incidents / 10 within [256, 30 000])")
    if fb is not None:
        per, tasks, out_b, back_b = fb
        n = tasks * 1000
        print(f"  a feedback study of the same kind with 200 000 replicates ({n} tasks of the measured CPU cost): "
              + ", ".join(f"{w} workers ~{(n * (per + per_task_overhead) / w + n * back_b / bw) / 60:.1f} min"
                          for w in (8, 64)))
    print("  assumes costs stay linear in incidents and cells beyond the 200 k incidents and 25 600 cells measured, "
          "one thread per worker, and files read by the workers")


if __name__ == "__main__":
    main()
