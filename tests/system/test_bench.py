"""The benchmark suite in its quick form (scripts/bench.py --quick; docs/bench.md): every
benchmark guest boots, under the hypervisor and, for the end-to-end workloads, on bare Bochs,
and prints its figures. Small N everywhere and nothing skipped, so a broken benchmark guest or
a broken parser is caught here; the targets are not checked (they are for the full run,
`make bench`, where misses are reported, not failures). About 1.5 minutes with 2 CPUs.
"""
import json
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT

OUT = BUILD / "systest" / "bench"
TIMEOUT = 1800  # the quick suite takes ~80 s with two CPUs; generous for loaded machines

OPERATIONS = [
    "cpuid", "vmcall", "pio", "mmio_fast", "mmio_slow", "mmio_slow/fast", "memslot_move",
    "shadow_fault", "cr3_switch", "memslot_change_10", "memslot_change_1000",
    "memslot_change_100000", "memslot_change_100000/10", "zap_all", "zap_exit_max",
    "zap_freed_per_exit", "compute", "fork", "ctxsw", "mmio_heavy", "mmio_exits_per_access",
]


@pytest.fixture(scope="module")
def quick_run():
    for elf in (BUILD / "hv.elf", BUILD / "guests" / "bench_micro.elf",
                BUILD / "guests" / "bench_e2e.elf"):
        if not elf.is_file():
            pytest.fail(f"{elf} is missing: run `make all` before the system tests", pytrace=False)
    results = OUT / "results.json"
    results.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--out", str(OUT)]
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"bench.py --quick did not finish in {TIMEOUT}s:\n{e.stdout or ''}",
                    pytrace=False)
    return p, results


def test_quick_bench_runs_and_reports_every_figure(quick_run):
    p, results = quick_run
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"bench.py --quick exited with {p.returncode}:\n{out}"
    assert results.is_file(), f"no {results}:\n{out}"
    doc = json.loads(results.read_text())
    assert doc["mode"] == "quick" and doc["runs"] == 2, doc.get("mode")
    assert doc["git_revision"], "no git revision in results.json"
    figs = {f["operation"]: f for f in doc["figures"]}
    missing = [op for op in OPERATIONS if op not in figs]
    assert not missing, f"operations missing from results.json: {missing}\n{out}"
    bad = {op: figs[op]["figure"] for op in OPERATIONS
           if not isinstance(figs[op]["figure"], (int, float)) or figs[op]["figure"] <= 0}
    assert not bad, f"figures that are not positive numbers: {bad}\n{out}"
    for op in OPERATIONS:
        f = figs[op]
        assert len(f["runs"]) == 2, f"{op}: want the figure of both runs, got {f['runs']}"
        assert "met" in f and "target" in f, f"{op}: no target/met fields"
    assert not doc["failures"], f"failed runs: {doc['failures']}"
    # the table is printed, with one line per operation
    for op in OPERATIONS:
        assert any(l.startswith(op + " ") for l in p.stdout.splitlines()), \
            f"no table row for {op}:\n{out}"


def test_quick_bench_one_exit_per_mmio_access(quick_run):
    _, results = quick_run
    doc = json.loads(results.read_text())
    figs = {f["operation"]: f for f in doc["figures"]}
    f = figs["mmio_exits_per_access"]
    assert f["figure"] == 1.0 and f["runs"] == [1.0, 1.0], \
        f"exits per MMIO access: {f['runs']} (detail {f['detail']})"


def test_quick_bench_memslot_scaling_series(quick_run):
    _, results = quick_run
    doc = json.loads(results.read_text())
    figs = {f["operation"]: f for f in doc["figures"]}
    for k in (10, 1000, 100000):
        f = figs[f"memslot_change_{k}"]
        assert f["figure"] > 0, f"memslot change with {k} MMIO sptes: {f}"
        assert f["detail"]["mmio_sptes"] == k, \
            f"memslot_change_{k} measured with {f['detail']['mmio_sptes']} MMIO sptes made"
    m = doc["memslot_scaling"]
    assert m["sptes"] == [10, 1000, 100000] and len(m["ticks_per_change"]) == 3, m
    svg = OUT / m["svg"]
    assert svg.is_file() and svg.read_text().lstrip().startswith("<svg"), f"no SVG at {svg}"
