"""A wheel built with ``maturin build`` and installed into a fresh virtual environment runs
``placewise demo`` with the policy shipped in the package (the report names it). Slow: it builds
the extension in release mode; ``make test`` runs it (``pytest -m "not slow"`` skips it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_demo_with_the_packaged_policy(tmp_path: Path) -> None:
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent)) or shutil.which("maturin")
    if maturin is None:
        pytest.skip("maturin is not installed")
    dist = tmp_path / "dist"
    build = subprocess.run([maturin, "build", "--release", "--quiet", "--out", str(dist)], cwd=ROOT,
                           capture_output=True, text=True, timeout=3000)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("placewise-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "placewise/audit/policy.toml" in names
        packaged = z.read("placewise/audit/policy.toml")
    assert packaged == (ROOT / "audits" / "policy.toml").read_bytes()

    # A fresh venv; the dependencies (numpy, pandas, geopandas…) come from this environment's
    # site-packages through a .pth file, so nothing is downloaded. The wheel's placewise is
    # installed into the venv's own site-packages, which comes first on sys.path.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    vpy = venv / "bin" / "python"
    site = subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    here = sysconfig.get_paths()["purelib"]
    (Path(site) / "_placewise_test_deps.pth").write_text(here + "\n")
    inst = subprocess.run([str(vpy), "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stderr[-3000:]
    where = subprocess.run([str(vpy), "-c", "import placewise, sys; print(placewise.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(Path(site)), where  # the wheel's copy, not the checkout

    out = tmp_path / "demo"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    demo = subprocess.run([str(venv / "bin" / "placewise"), "--quiet", "demo", "--out", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=1200, env=env)
    assert demo.returncode in (0, 3), demo.stderr[-3000:]  # 3: the policy blocked the plan (still reported)
    md = (out / "audit_report.md").read_text(encoding="utf-8")
    assert "placewise/audit/policy.toml (packaged default)" in md
    assert "placewise default policy (v1)" in md
    assert "no policy applied" not in md
