"""``tiltproof sweep``: spec validation, grid order, and the same records whatever the backend or workers."""
from __future__ import annotations

import json
import os

import pytest

from tiltproof import cli
from tiltproof.sweep import grid_points, parse_spec, run_sweep
from tiltproof.sweep_families import FAMILIES, point_claims, point_key

# δ = 0.5: at δ = 0.1 finite-k10's b_δ is ess sup r, a degenerate T3 claim (an `error` by its hypothesis)
TINY = {"family": "single-step", "seed": 1, "grid": {"instance": ["finite-k10"], "lambda": [1.0, 0.5], "delta": [0.5]}}


def _without_seconds(records: list[dict]) -> list[dict]:
    return [{key: value for key, value in record.items() if key != "seconds"} for record in records]


@pytest.mark.parametrize("change, message", [
    ({"family": "diffusion-chains"}, "family must be one of"),
    ({"grid": {"instance": ["finite-k10"], "lambda": [1.0], "delta": [0.1], "beta": [1]}}, "not axes of family"),
    ({"grid": {"instance": ["finite-k10"], "lambda": [1.0]}}, "grid.delta is missing"),
    ({"grid": {"instance": ["no-such"], "lambda": [1.0], "delta": [0.1]}}, "instance must be one of"),
    ({"grid": {"instance": ["finite-k10"], "lambda": [0.0], "delta": [0.1]}}, "grid.lambda"),
    ({"grid": {"instance": ["finite-k10"], "lambda": [1.0], "delta": [1.5]}}, "grid.delta"),
    ({"grid": {"instance": ["finite-k10"], "lambda": [1.0], "delta": [0.1], "replicate": 0}}, "grid.replicate"),
    ({"alpha_total": 2.0}, "alpha_total"),
    ({"alpha_per_claim": 1e-8}, "not both"),
    ({"seed": -1}, "seed"),
    ({"device": "tpu"}, "device"),
    ({"colour": "red"}, "unknown spec keys"),
])
def test_bad_specs_are_refused_naming_the_key(change, message):
    with pytest.raises(ValueError, match=message):
        parse_spec({**TINY, "alpha_total": 1e-6, **change})


def test_grid_is_sorted_by_axis_then_value_and_replicates_change_only_the_seed():
    spec = parse_spec({**TINY, "grid": {**TINY["grid"], "replicate": 2}})
    points = grid_points(spec)
    assert [point_key(point) for point in points] == [
        "instance=finite-k10,lambda=0.5,delta=0.5,replicate=0", "instance=finite-k10,lambda=0.5,delta=0.5,replicate=1",
        "instance=finite-k10,lambda=1,delta=0.5,replicate=0", "instance=finite-k10,lambda=1,delta=0.5,replicate=1"]
    first, second = (point_claims(spec.family, point) for point in points[:2])
    assert [c.id.rsplit("/", 1)[0] for c in first] == [c.id.rsplit("/", 1)[0] for c in second]
    assert all(c.parameters == d.parameters for c, d in zip(first, second))
    assert {c.theorem for c in first} == {"T2", "T3"} and all(c.parameters["lambda"] == 0.5 for c in first)


def test_process_pool_gives_the_serial_records_sorted_by_grid_point():
    spec = parse_spec(TINY)
    serial = run_sweep(spec, workers=1)
    pooled = run_sweep(spec, workers=2)
    assert serial["meta"]["claims"] == len(serial["claims"]) == 10
    assert serial["meta"]["alpha_per_claim"] == pytest.approx(1e-6 / 10)
    assert _without_seconds(serial["claims"]) == _without_seconds(pooled["claims"])
    assert [entry["point"]["lambda"] for entry in serial["points"]] == [0.5, 1.0]
    assert [record["point"]["lambda"] for record in serial["claims"]] == [0.5] * 5 + [1.0] * 5
    assert all(record["verdict"] == "pass" for record in serial["claims"]), serial["claims"]


def test_learned_baseline_replicates_measure_a_spread_and_unbounded_rewards_are_errors():
    spec = parse_spec({"family": "learned-baseline", "alpha_per_claim": 1e-6, "grid": {
        "instance": ["finite-u11", "gaussian-linear-d1"], "lambda": [0.5], "delta": [0.5], "eta": [0.05],
        "training_size": [4000], "replicate": 2}})
    payload = run_sweep(spec, workers=1)
    by_instance = {}
    for record in payload["claims"]:
        by_instance.setdefault(record["point"]["instance"], []).append(record)
    assert [r["verdict"] for r in by_instance["gaussian-linear-d1"]] == ["error", "error"]  # hypothesis: bounded reward
    bounded = by_instance["finite-u11"]
    assert [r["verdict"] for r in bounded] == ["pass", "pass"] and bounded[0]["seed"] != bounded[1]["seed"]
    assert payload["meta"]["alpha_total"] == pytest.approx(4e-6)


def test_cli_sweep_writes_json_and_exits_zero_or_two(tmp_path):
    spec = tmp_path / "sweep.toml"
    spec.write_text('family = "single-step"\nseed = 1\n[grid]\ninstance = ["finite-k10"]\nlambda = [1.0, 0.5]\n'
                    'delta = [0.5]\n')
    output = tmp_path / "out.json"
    assert cli.main(["sweep", str(spec), "--workers", "2", "--json", str(output)]) == 0
    payload = json.loads(output.read_text())
    assert _without_seconds(payload["claims"]) == _without_seconds(run_sweep(parse_spec(TINY), workers=1)["claims"])
    (tmp_path / "bad.toml").write_text('family = "tractability"\n[grid]\n')
    assert cli.main(["sweep", str(tmp_path / "bad.toml")]) == 2
    assert cli.main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert cli.main(["sweep", str(spec), "--workers", "0"]) == 2


def test_every_family_documents_its_axes():
    for family in FAMILIES.values():
        assert "replicate" in family.axes and family.description


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is the optional extra: pip install -e '.[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


@pytest.mark.ray
@pytest.mark.skipif(bool(os.environ.get("PYTEST_XDIST_WORKER")),
                    reason="Ray starts its own runtime and worker processes: run the ray tests without -n")
def test_ray_local_runtime_gives_the_process_pool_records(local_ray):
    spec = parse_spec(TINY)
    on_ray = run_sweep(spec, backend="ray")
    assert on_ray["meta"]["backend"] == "ray"
    assert _without_seconds(on_ray["claims"]) == _without_seconds(run_sweep(spec, workers=1)["claims"])


def test_a_lost_grid_point_becomes_error_records_for_each_of_its_claims():
    from tiltproof.sweep import _error_records

    spec = parse_spec(TINY)
    point = grid_points(spec)[0]
    records = _error_records(spec.family, point, 1e-7, spec.seed, "the worker process died (exit code -9)")
    assert [r["id"] for r in records] == [c.id for c in point_claims(spec.family, point)]
    assert all(r["verdict"] == "error" and r["point"] == dict(point) and "exit code -9" in r["message"]
               and r["alpha"] == 1e-7 for r in records)


def test_spec_written_after_a_bare_ray_flag_is_the_spec():
    """``tiltproof sweep --ray spec.toml`` used to hand the spec to --ray as a cluster address."""
    import argparse

    from tiltproof.sweep import _spec_after_ray, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    swapped = parser.parse_args(["--ray", "grid.toml"])
    _spec_after_ray(swapped)
    assert (swapped.spec, swapped.ray) == ("grid.toml", "")
    address = parser.parse_args(["grid.toml", "--ray", "10.0.0.1:6379"])
    _spec_after_ray(address)
    assert (address.spec, address.ray) == ("grid.toml", "10.0.0.1:6379")
    with pytest.raises(ValueError, match="spec is required"):
        _spec_after_ray(parser.parse_args(["--ray", "10.0.0.1:6379"]))
    assert cli.main(["sweep"]) == 2
