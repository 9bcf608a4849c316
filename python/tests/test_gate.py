"""The gate: allocate → audit → policy → decision in one core call, typed results, blocked plans,
override records, the packaged policy, the dominant-polygon rule and the import graph."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import numpy as np
import pytest

import placewise as pw
from placewise import _native
from placewise.allocate import district_of_cells

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "python" / "placewise"

STRICT = "name = \"strict\"\n[disparity]\nratio_min = 0.99\nratio_max = 1.01\ncompare_to = \"overall\"\n"


@pytest.fixture(scope="module")
def city():
    return pw.datasets.load_chicago(cell_size=1000)


@pytest.fixture(scope="module")
def surface(city):
    return pw.Surface(city.grid.counts(city.incidents).astype(float), city.grid, "counts")


def test_no_policy_is_said_and_the_plain_path_has_no_audit(surface) -> None:
    a = pw.allocate(surface, budget=10)
    assert a.decision.status == "no_policy"
    assert a.decision.failed_checks == [] and a.audit is None and not a.blocked
    assert "decision" not in a.to_frame().columns


def test_allocate_shifts_with_a_strict_policy_raises_with_the_blocked_plan(city, surface) -> None:
    strict = pw.AuditPolicy.from_toml(STRICT)
    night = pw.Surface(surface.values[::-1, ::-1].copy(), city.grid, "reversed")
    with pytest.raises(pw.PolicyViolation) as ei:
        pw.allocate_shifts({"day": surface, "night": night}, 10, population=city.population, policy=strict)
    e = ei.value
    plan = e.blocked
    assert isinstance(plan, pw.Plan) and plan.blocked and plan.decision.status == "blocked"
    assert e.failed_checks == e.checks and e.failed_checks == list(plan.decision.failed_checks)
    assert any(f.startswith("shift `day`: disparity") for f in e.failed_checks)
    assert any(f.startswith("whole plan: disparity") for f in e.failed_checks)
    assert plan["day"].units.sum() == pytest.approx(10) and plan["day"].blocked
    assert set(plan.to_frame()["decision"]) == {"BLOCKED"}
    # The same call with an override goes through, and the record is on the plan and each shift.
    ok = pw.allocate_shifts({"day": surface, "night": night}, 10, population=city.population, policy=strict,
                            override_reason="pilot approved by the oversight board, minute 12", override_by="A. Auditor")
    assert ok.decision.status == "overridden" and ok.decision.override.by == "A. Auditor"
    assert ok["day"].decision.status == "overridden"
    np.testing.assert_array_equal(ok["night"].units, plan["night"].units)


@pytest.mark.parametrize("reason", ["", "   ", "\u200b", "\u2060", "\x00", "\u200b\u200b\ufeff", "\t\n", "too short"])
def test_empty_whitespace_or_invisible_override_reasons_are_refused(city, surface, reason: str) -> None:
    strict = pw.AuditPolicy.from_toml(STRICT)
    with pytest.raises(pw.InvalidParameterError) as ei:
        pw.allocate(surface, 10, population=city.population, policy=strict, override_reason=reason, override_by="A. Auditor")
    assert ei.value.name == "override_reason"
    with pytest.raises(pw.InvalidParameterError) as ei:
        pw.allocate_shifts([surface, surface], 10, population=city.population, policy=strict, override_reason=reason)
    assert ei.value.name == "override_reason"
    with pytest.raises(pw.InvalidParameterError):
        _native.Override(reason, "A. Auditor", "2026-01-01T00:00:00+00:00")


def test_the_default_policy_fails_a_missing_disparity_audit_unless_skipped_explicitly(surface) -> None:
    policy = pw.AuditPolicy.default()
    with pytest.raises(pw.PolicyViolation) as ei:
        pw.allocate(surface, 10, policy=policy)
    assert ei.value.failed_checks[0].startswith("disparity: not audited")
    blocked = ei.value.blocked
    assert isinstance(blocked, pw.Allocation) and blocked.blocked
    assert set(blocked.to_frame()["decision"]) == {"BLOCKED"}
    a = pw.allocate(surface, 10, policy=policy, skip_audits="disparity")
    assert a.decision.status == "passed"
    skipped = {k.audit: k.by_caller for k in a.decision.skipped_audits}
    assert skipped == {"disparity": True, "data": False, "feedback": False}
    with pytest.raises(pw.InvalidParameterError, match="skip_audits"):
        pw.allocate(surface, 10, policy=policy, skip_audits=["fairness"])


def test_the_gate_runs_the_same_audits_as_the_audit_functions(city, surface) -> None:
    policy = pw.AuditPolicy.from_toml("[concentration]\nmax_gini_over_baseline = 1.0\n", source="test")
    a = pw.allocate(surface, 40, strategy="fair", population=city.population, tau=0.8, seed=3, policy=policy)
    direct = pw.audit.disparity(a, city.population, seed=3, incidents_per_cell=surface)
    np.testing.assert_array_equal(a.audit.by_group["ratio_to_reference_low"], direct.by_group["ratio_to_reference_low"])
    conc = pw.audit.concentration(a, seed=0)
    assert a.concentration.cells["gini_over_baseline"] == conc.cells["gini_over_baseline"]
    assert a.audit_summary.cells_gini_over_baseline == conc.cells["gini_over_baseline"]
    assert a.decision.policy_source == "test" and a.decision.status == "passed"


def test_results_are_typed_frozen_and_pickle(city, surface) -> None:
    lenient = pw.AuditPolicy.from_toml("[concentration]\nmax_gini_over_baseline = 1.0\n")
    a = pw.allocate(surface, 10, population=city.population, policy=lenient, seed=1)
    native = a._audited
    for obj in (native, native.decision, native.allocation, native.disparity, native.concentration, native.summary,
                native.disparity.groups[0], native.concentration.cells):
        back = pickle.loads(pickle.dumps(obj))
        assert type(back) is type(obj)
        with pytest.raises(AttributeError):
            obj.__dict__  # noqa: B018 - frozen pyclasses have no instance dict
    back = pickle.loads(pickle.dumps(native))
    np.testing.assert_array_equal(back.allocation.dose, native.allocation.dose)
    assert back.disparity.groups[2].ratio_to_reference_ci == native.disparity.groups[2].ratio_to_reference_ci
    assert back.decision.status == native.decision.status == "passed"
    o = _native.Override("approved by the board on 2026-01-05", "A. Auditor", "2026-01-05T10:00:00+00:00")
    assert pickle.loads(pickle.dumps(o)).reason == o.reason


def test_the_packaged_policy_is_the_repository_copy_and_default_names_it() -> None:
    assert (PKG / "audit" / "policy.toml").read_bytes() == (ROOT / "audits" / "policy.toml").read_bytes()
    p = pw.AuditPolicy.default()
    assert p.name == "placewise default policy (v1)"
    assert "packaged default" in p.source
    assert pw.policy.AuditPolicy is pw.audit.AuditPolicy


def test_dominant_polygon_tie_rule_is_the_first_polygon(city) -> None:
    import geopandas as gpd
    import shapely

    grid = pw.Grid(pw.Region.from_bounds(0, 0, 200, 100, crs="EPSG:32616"), cell_size=100)
    # Cell 0 is split in two equal halves (tie: the first polygon wins); cell 1 belongs to "b".
    layer = gpd.GeoDataFrame({"district": ["a", "b"]},
                             geometry=[shapely.box(0, 0, 50, 100), shapely.box(50, 0, 200, 100)], crs="EPSG:32616")
    assert pw.space.dominant_polygon(layer, grid).tolist() == [0, 1]
    rev = layer.iloc[::-1].reset_index(drop=True)
    assert pw.space.dominant_polygon(rev, grid).tolist() == [0, 0]  # "b" now comes first and wins the tie
    lab, names = district_of_cells(layer, grid)
    assert [names[i] for i in lab] == ["a", "b"]
    labels, ids = pw.audit.area_of_cells(layer, grid, "district")
    assert [ids[i] for i in labels] == ["a", "b"]
    # On real layers both callers agree cell by cell.
    lab, names = district_of_cells(city.areas, city.grid)
    labels, _ = pw.audit.area_of_cells(city.areas, city.grid)
    assert lab.tolist() == labels[city.grid.cell_ids].tolist()


def _module_imports(path: Path, package: str) -> set[str]:
    """Modules of ``placewise`` imported at module level (not inside functions, not under
    TYPE_CHECKING) by the file at ``path`` (module name ``package``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    is_pkg = path.name == "__init__.py"
    base = package if is_pkg else package.rpartition(".")[0]

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body + node.orelse + [s for h in getattr(node, "handlers", []) for s in h.body])
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("placewise"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")
                    root = ".".join(parts[: len(parts) - node.level + 1])
                    mod = f"{root}.{node.module}" if node.module else root
                else:
                    mod = node.module or ""
                if not mod.startswith("placewise"):
                    continue
                out.add(mod)
                for a in node.names:  # `from . import x` imports the submodule x
                    out.add(f"{mod}.{a.name}")

    visit(tree.body)
    return out


def test_no_import_circle_in_the_package() -> None:
    modules: dict[str, Path] = {}
    for f in PKG.rglob("*.py"):
        rel = f.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = f
    graph: dict[str, set[str]] = {}
    for name, f in modules.items():
        deps = set()
        for d in _module_imports(f, name):
            while d and d not in modules:
                d = d.rpartition(".")[0]
            # Importing a submodule runs its parent packages' __init__ first.
            parts = d.split(".")
            deps.update(".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in modules)
        deps.discard(name)
        graph[name] = {d for d in deps if not name.startswith(d + ".")}  # a package's own parents are not a cycle
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(m):] + [m]))
            if m not in state:
                dfs(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            dfs(n)
    assert not any(d.startswith("placewise.audit") for d in _module_imports(PKG / "allocate.py", "placewise.allocate"))


def test_the_report_reads_the_decision(city, surface) -> None:
    a = pw.allocate(surface, 10, population=city.population)
    doc = pw.report.AuditReport(plan=a, policy_applied=False, run_warnings=["CRSWarning: test"]).document
    assert doc["verdicts"][0]["value"] == "no policy applied"
    warned = next(s for s in doc["sections"] if s["title"] == "What the run warned about")
    assert warned["tables"][0][1]["rows"] == [["CRSWarning: test"]]
    strict = pw.AuditPolicy.from_toml(STRICT)
    with pytest.raises(pw.PolicyViolation) as ei:
        pw.allocate(surface, 10, population=city.population, policy=strict)
    doc = pw.report.AuditReport(plan=ei.value.blocked, policy=strict).document
    assert doc["summary"][0].startswith("BLOCKED")
    assert doc["verdicts"][0]["status"] == "fail" and doc["verdicts"][0]["value"].startswith("BLOCKED")
    dis = next(v for v in doc["verdicts"] if v["check"].startswith("Exposure ratio"))
    assert dis["status"] == "fail" and "`" in dis["value"]  # the decision's own sentences
