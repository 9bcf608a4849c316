"""Scaling of placewise.distributed on this machine, and a projection for a national study.

Not a test. Measures, with a LocalCluster of 1 and of 2 worker processes (one thread each):

* a 40-jurisdiction audit (synthetic jurisdictions of 1 000–6 000 incidents, the full
  `placewise audit` chain each, with a short backtest and feedback simulation), and
* a 200-replicate feedback study (replicates as tasks through the core's `replicate_ids`),

printed as wall times and the speed-up ratio 1 → 2 workers. Then a projection (stated as one)
of a national study (500 jurisdictions, 20 M incidents) on 8 and 64 workers from the measured
per-task time (fitted as a + b·incidents), the task count, and the bytes shipped per task.

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


def timed_audit(js: list, workers: int) -> tuple[float, object]:
    from dask.distributed import Client, LocalCluster

    from placewise import distributed as D

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
            Client(lc) as c:
        D.audit_many(js[:workers], client=c, **CHAIN)  # warm the workers' imports
        t0 = time.perf_counter()
        res = D.audit_many(js, client=c, **CHAIN)
        return time.perf_counter() - t0, res


def feedback_study(replicates: int) -> None:
    import inspect

    from dask.distributed import Client, LocalCluster

    import placewise as pw
    from placewise import audit as A
    from placewise import distributed as D

    if "replicate_ids" not in inspect.signature(A.feedback).parameters:
        print("feedback study: not measured — this build's feedback simulator has no replicate_ids")
        return
    city = pw.datasets.load_chicago(cell_size=500)
    truth = pw.KDE(bandwidth=2000, mode="binned").fit(city.incidents, city.grid).predict()
    kw = dict(grid=city.grid, truth=truth, model=pw.Naive(window_days=None), strategy="top_k", budget=20, rounds=20,
              replicates=replicates, seed=0, workers=1)
    out = {}
    for w in (1, 2):
        with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
                Client(lc) as c:
            c.run(lambda: __import__("placewise"))
            t0 = time.perf_counter()
            r = D.feedback(client=c, replicates_per_task=10, **kw)
            out[w] = (time.perf_counter() - t0, r)
    same = out[1][1].rounds.equals(out[2][1].rounds)
    print(f"{replicates}-replicate feedback study (Chicago 500 m, 20 rounds, 10 replicates per task): "
          f"1 worker {out[1][0]:.1f} s, 2 workers {out[2][0]:.1f} s, speed-up {out[1][0] / out[2][0]:.2f}× "
          f"(results identical: {same})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jurisdictions", type=int, default=40)
    ap.add_argument("--replicates", type=int, default=200)
    a = ap.parse_args()
    import dask

    import placewise as pw

    print(f"placewise {pw.__version__}, dask {dask.__version__}, {os.cpu_count()} CPUs visible")
    with tempfile.TemporaryDirectory() as tmp:
        js = jurisdictions(Path(tmp), a.jurisdictions)
        t1, r1 = timed_audit(js, 1)
        t2, r2 = timed_audit(js, 2)
        same = all(x.row == y.row for x, y in zip(r1.results, r2.results))
        print(f"\n{a.jurisdictions}-jurisdiction audit: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s, "
              f"speed-up {t1 / t2:.2f}× (results identical: {same})")
        # per-task cost model from the 1-worker run: seconds = a + b * incidents
        n = np.array([r.row["incidents"] for r in r1.results], dtype=float)
        s = np.array([r.seconds for r in r1.results])
        b, a0 = np.polyfit(n, s, 1)
        desc = np.mean([len(pickle.dumps(j)) for j in js])
        back = np.mean([len(pickle.dumps(r)) for r in r1.results])
        print(f"per task: {a0:.2f} s + {b * 1e3:.3f} ms per incident (fit over {len(n)} tasks, "
              f"{n.min():.0f}–{n.max():.0f} incidents); shipped {desc:.0f} B out, {back / 1e3:.0f} kB back")
        feedback_study(a.replicates)
        project(a0, b, back)


def project(a0: float, b: float, back_bytes: float) -> None:
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
        print(f"  {w:>2} workers: ~{makespan / 60:.1f} min (total work {task_s.sum() / 3600:.1f} CPU-h; "
              f"largest task {task_s.max() / 60:.1f} min bounds it from below)")
    print("  assumes linear per-incident cost as measured at ≤ 6 k incidents (backtest and KDE are near linear; "
          "memory per worker ~1 GB + 0.5 GB per M incidents), one thread per worker, files read by workers")


if __name__ == "__main__":
    main()
