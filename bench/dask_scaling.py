"""Scaling of placewise.distributed on this machine, and a projection for a national study.

Not a test. Measures, with a LocalCluster of 1 and of 2 worker processes (one thread each):

* a 40-jurisdiction audit (synthetic jurisdictions of 1 000–6 000 incidents, the full
  `placewise audit` chain each, with a short backtest and feedback simulation), and
* a 200-replicate feedback study (replicates as tasks through the core's `replicate_ids`),

printed as wall and CPU times, peak RSS per worker, the load average, and the speed-up ratio
1 → 2 workers; and the peak RSS of one audit task at two sizes (a fresh process each). Then a projection (stated as one)
of a national study (500 jurisdictions, 20 M incidents) on 8 and 64 workers from the measured
per-task time (fitted as a + b·incidents), the task count, the bytes shipped per task and the
memory model.

    python bench/dask_scaling.py [--jurisdictions 40] [--replicates 200]

On a shared 2-core machine the 2-worker figure is bounded by the cores other processes leave.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
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


def audit_runs(js: list) -> tuple[Run, Run, object, object]:
    from placewise import distributed as D

    runs, results = [], []
    for w in (1, 2):
        run = Run(w)
        results.append(run(lambda c, w=w: D.audit_many(js[:w], client=c, **CHAIN),
                           lambda c: D.audit_many(js, client=c, **CHAIN)))
        runs.append(run)
    return runs[0], runs[1], results[0], results[1]


def feedback_study(replicates: int, per_task: int) -> tuple[float, int, float, float]:
    """Times the study on 1 and 2 workers; returns (seconds per task on 1 worker, tasks, bytes out, bytes back)."""
    import placewise as pw
    from placewise import distributed as D
    from placewise.audit import feedback as serial

    city = pw.datasets.load_chicago(cell_size=500)
    truth = pw.KDE(bandwidth=2000, mode="binned").fit(city.incidents, city.grid).predict()
    kw = dict(grid=city.grid, truth=truth, model=pw.Naive(window_days=None), strategy="top_k", budget=20, rounds=20,
              replicates=replicates, seed=0)
    runs, results = [], []
    for w in (1, 2):
        run = Run(w)
        results.append(run(lambda c: D.feedback(client=c, replicates_per_task=per_task, **{**kw, "replicates": 2 * w}),
                           lambda c: D.feedback(client=c, replicates_per_task=per_task, **kw)))
        runs.append(run)
    same = results[0].rounds.equals(results[1].rounds)
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
    print(f"  speed-up 1 → 2 workers: {runs[0].wall / runs[1].wall:.2f}× wall "
          f"(results identical with 1 and 2 workers: {same}; first task equal to the single-process run: {same_serial})")
    print(f"  per task: {runs[0].wall / tasks:.3f} s wall, {runs[0].worker_cpu / tasks:.3f} s CPU on 1 worker; shipped "
          f"{out_b} B out per task (grid and truth scattered once), {back_b / 1e3:.0f} kB back")
    return runs[0].worker_cpu / tasks, tasks, out_b, back_b


def memory_per_incident(folder: Path) -> tuple[float, float]:
    """Peak RSS of one audit task in a fresh process at two sizes: (MB at rest, MB per 1 000 incidents)."""
    import subprocess

    code = ("import pickle, resource, sys\n"
            "from placewise import distributed as D\n"
            "j, chain = pickle.load(open(sys.argv[1], 'rb'))\n"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "r = D.audit_one(j, **chain)\n"
            "assert r.status != 'failed', r.error\n"
            "print(base / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
    from test_distributed import synthetic

    points = []
    for n in (2_000, 200_000):
        j = synthetic(folder / f"mem{n}", f"M{n}", seed=7, n=n)
        spec = folder / f"mem{n}.pkl"
        spec.write_bytes(pickle.dumps((j, CHAIN)))
        out = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, check=True)
        base, peak = map(float, out.stdout.split()[-2:])
        points.append((n, base, peak))
        print(f"  one audit task of {n} incidents in a fresh process: peak RSS {peak:.0f} MB ({base:.0f} MB after imports)")
    (n1, _, p1), (n2, _, p2) = points
    slope = (p2 - p1) / (n2 - n1) * 1000
    return p1 - slope * n1 / 1000, slope


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jurisdictions", type=int, default=40)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--replicates-per-task", type=int, default=10)
    a = ap.parse_args()
    import dask

    import placewise as pw

    print(f"placewise {pw.__version__}, dask {dask.__version__}, {os.cpu_count()} CPUs visible, "
          f"load average now {os.getloadavg()[0]:.1f} (a shared machine: 2 workers get 2 cores only when they are free)")
    fb = feedback_study(a.replicates, a.replicates_per_task)
    with tempfile.TemporaryDirectory() as tmp:
        js = jurisdictions(Path(tmp), a.jurisdictions)
        r1, r2, res1, res2 = audit_runs(js)
        same = all(x.row == y.row for x, y in zip(res1.results, res2.results))
        ok = sum(r.status != "failed" for r in res1.results)
        print(f"\n{a.jurisdictions}-jurisdiction audit (synthetic, 1 000–6 000 incidents each, full chain; {ok} completed):")
        for r in (r1, r2):
            print("  " + r.line())
        print(f"  speed-up 1 → 2 workers: {r1.wall / r2.wall:.2f}× wall (results identical: {same})")
        # per-task cost model from the 1-worker run: seconds = a + b * incidents
        n = np.array([r.row["incidents"] for r in res1.results], dtype=float)
        s = np.array([r.seconds for r in res1.results])
        # Under load a task's wall time counts the time it waited for a core: scale the per-task
        # times by the CPU share the worker got (its CPU seconds over the tasks' wall seconds).
        share = r1.worker_cpu / s.sum()
        b, a0 = np.polyfit(n, s * share, 1)
        if b < 0:
            print(f"  (per-incident slope fitted {b * 1e3:.3f} ms < 0: noise over this size range; projected with 0)")
            b, a0 = 0.0, float(np.mean(s * share))
        desc = np.mean([len(pickle.dumps(j)) for j in js])
        back = np.mean([len(pickle.dumps(r)) for r in res1.results])
        print(f"  per task: {a0:.2f} s + {b * 1e3:.3f} ms per incident of CPU (task wall times × the worker's CPU share "
              f"{share:.2f}; fit over {len(n)} tasks, "
              f"{n.min():.0f}–{n.max():.0f} incidents); shipped {desc:.0f} B out, {back / 1e3:.0f} kB back")
        print("\nmemory:")
        m0, m1 = memory_per_incident(Path(tmp))
        print(f"  peak RSS model: {m0:.0f} MB + {m1:.2f} MB per 1 000 incidents (two sizes, linear)")
        project(float(a0), float(b), float(back), m0, m1, fb)


def project(a0: float, b: float, back_bytes: float, m0: float, m1: float, fb: tuple[float, int, float, float]) -> None:
    """National study: 500 jurisdictions, 20 M incidents (40 k on average, the largest 1 M)."""
    rng = np.random.default_rng(0)
    sizes = rng.lognormal(mean=0.0, sigma=1.2, size=500)
    sizes = np.round(sizes / sizes.sum() * 20e6)
    sizes[np.argmax(sizes)] = max(sizes.max(), 1e6)
    task_s = a0 + b * sizes
    per_task_overhead = 0.005  # scheduler round trip per task (Dask docs: ~1 ms; taken 5× for safety)
    bw = 100e6  # bytes/s of result traffic to the client (1 Gb/s network, shared)
    print("\nPROJECTION (not a measurement): 500 jurisdictions, 20 M incidents (log-normal sizes, largest "
          f"{sizes.max() / 1e6:.1f} M), from the per-task model above; largest first (longest-processing-time) order")
    for w in (8, 64):
        loads = np.zeros(w)
        for t in np.sort(task_s)[::-1]:
            loads[np.argmin(loads)] += t
        makespan = loads.max() + 500 * per_task_overhead / w + 500 * back_bytes / bw
        print(f"  {w:>2} workers: ~{makespan / 60:.1f} min (total work {task_s.sum() / 3600:.2f} CPU-h; "
              f"largest task {task_s.max() / 60:.1f} min bounds it from below)")
    print(f"  memory: the largest jurisdiction's worker ~{(m0 + m1 * sizes.max() / 1000) / 1024:.1f} GB, "
          f"a median one ~{(m0 + m1 * np.median(sizes) / 1000) / 1024:.2f} GB (the linear RSS model above)")
    per, tasks, out_b, back_b = fb
    print(f"  a feedback study of the same kind, 200 000 replicates ({tasks * 1000} tasks of the measured size): "
          + ", ".join(f"{w} workers ~{(tasks * 1000 * (per + per_task_overhead) / w + tasks * 1000 * back_b / bw) / 60:.1f} min"
                      for w in (8, 64)))
    print("  assumes linear per-incident cost as measured at ≤ 6 k incidents (backtest and KDE are near linear), "
          "one thread per worker, files read by workers, and cores that are not shared")


if __name__ == "__main__":
    main()
