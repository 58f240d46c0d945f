"""The runner every long command shares (issue 21 item 6): tables that never cut a number, Ctrl-C that keeps
the finished records and names --resume, bad arguments refused before work, the sweep's cost estimate, and
calibrate's statistics (issue 20 item 4)."""
from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from tiltproof import cli, parallel
from tiltproof.calibrate import calibrated_levels, summarize, summarize_rate
from tiltproof.runner import Column, format_table, number_text

CHEAP = r"^t3\.chernoff_tail/"  # a handful of ~10 ms claims
COLUMNS = [Column("claim", "text", min_width=18), Column("empirical", "number"), Column("conf. bound", "number"),
           Column("margin", "number"), Column("verdict", "text", min_width=7), Column("time", "number", optional=True)]
ROWS = [["t7.path_tv/masked-ref-B5/oracle-delta=0.05/an-unusually-long-instance-name", number_text(0.05002),
         number_text(2.81e-16), number_text(-0.05539), "pass", "12.34s"],
        ["t2.sampler_law/gaussian-linear-d5/b=3.513", number_text(123456.7), number_text(1e-300),
         number_text(-1.234e-05), "fail", "0.01s"]]


@pytest.mark.parametrize("width", [80, 100])
def test_tables_fit_the_terminal_and_never_cut_a_number_or_a_header(width):
    text = format_table(COLUMNS, ROWS, width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), [len(line) for line in lines]
    header = lines[0]
    for column in ("claim", "empirical", "conf. bound", "margin", "verdict"):
        assert column in header
    for row, line in zip(ROWS, lines[2:]):
        for cell in row[1:4]:  # every number verbatim, on its own row's line
            assert re.search(rf"(^|\s){re.escape(cell)}(\s|$)", line), (cell, line)
    assert len(lines) == 2 + len(ROWS)  # one line per row: nothing wrapped


def test_plain_tables_have_no_width_limit_and_keep_every_column():
    text = format_table(COLUMNS, ROWS, None)
    assert "…" not in text and "12.34s" in text and ROWS[0][0] in text
    assert "\x1b[" not in text  # no colour codes


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=40, max_value=200), st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=3,
                                                          max_size=3))
def test_any_width_keeps_numbers_whole(width, values):
    rows = [["x" * 70, *(number_text(value) for value in values), "pass", "1.00s"]]
    lines = format_table(COLUMNS, rows, width).splitlines()
    assert len(lines) == 3 and all(number_text(value) in lines[2] for value in values)


def test_help_has_no_rst_backticks():
    parser = cli.build_parser()
    texts = [parser.format_help()] + [sub.format_help() for sub in parser._subparsers._group_actions[0].choices.values()]
    assert not [text for text in texts if "``" in text]


# ---------------------------------------------------------------- Ctrl-C keeps what finished
def test_ctrl_c_during_check_exits_130_keeps_the_finished_records_and_resume_completes_them(tmp_path, monkeypatch,
                                                                                              capsys):
    real = parallel.run_claim_object
    calls = []

    def interrupted_second(claim, alpha, seed, device):
        calls.append(claim.id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(claim, alpha, seed, device)

    output = tmp_path / "run.json"
    monkeypatch.setattr(parallel, "run_claim_object", interrupted_second)
    assert cli.main(["check", "--only", CHEAP, "--workers", "1", "--json", str(output)]) == 130
    err = capsys.readouterr().err
    assert f"tiltproof check --resume {output}" in err
    kept = json.loads(output.read_text())
    assert [record["id"] for record in kept["claims"]] == calls[:1] and kept["meta"]["complete"] is False
    monkeypatch.setattr(parallel, "run_claim_object", real)
    status = cli.main(["check", "--resume", str(output), "--workers", "1"])
    finished = json.loads(output.read_text())
    assert finished["meta"]["complete"] is True and len(finished["claims"]) > 1
    assert status in (0, 1)  # 1 only for a broken installed theorem package, reported on stderr
    assert finished["meta"]["commit"] and finished["meta"]["packages"]["torch"]  # the shared run stamp


def test_ctrl_c_during_mutants_exits_130_and_keeps_the_finished_rows(tmp_path, monkeypatch, capsys):
    real = parallel.run_claim_object
    calls = []

    def interrupted_second(claim, alpha, seed, device):
        calls.append(claim.id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(claim, alpha, seed, device)

    import tiltproof.core.registry as registry
    from tiltproof.core import mutants as single_step

    output = tmp_path / "mutants.json"
    monkeypatch.setattr(registry, "all_mutants", single_step.mutants)  # the cheap single-step variants only
    monkeypatch.setattr(parallel, "run_claim_object", interrupted_second)
    assert cli.main(["mutants", "--only", r"#(undercount|no-slack)$", "--no-proofs", "--workers", "1", "--json",
                     str(output)]) == 130
    assert f"tiltproof mutants --resume {output}" in capsys.readouterr().err
    kept = json.loads(output.read_text())
    assert [row["id"] for row in kept["mutants"]] == calls[:1] and kept["meta"]["command"] == "mutants"


# ---------------------------------------------------------------- calibrate
@pytest.mark.parametrize("arguments, option", [(["--runs", "0"], "--runs"), (["--runs", "5", "--alpha-total", "1"],
                                                                              "--alpha-total"),
                                               (["--runs", "5", "--alpha-total", "0"], "--alpha-total"),
                                               (["--runs", "5", "--json", "/nonexistent-tiltproof/x.json"], "--json")])
def test_calibrate_refuses_bad_input_before_any_run(arguments, option, capsys, monkeypatch):
    monkeypatch.setattr("tiltproof.calibrate.calibration_row", lambda *a: pytest.fail("a run started"))
    assert cli.main(["calibrate", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option}") and len(err.strip().splitlines()) == 1


def test_calibrated_levels_scale_every_level_by_one_factor():
    levels, scale = calibrated_levels({"a": 4e-9, "b": 1e-8}, 0.5)
    assert math.isclose(sum(levels.values()), 0.5) and math.isclose(levels["b"] / levels["a"], 2.5)
    assert math.isclose(scale, 0.5 / 1.4e-8)


def test_rates_carry_the_clopper_pearson_interval():
    summary = summarize_rate("c", "claim", ["fail"] * 7 + ["pass"] * 93 + ["error"] * 2, level=0.05)
    # the exact interval by its Beta-quantile definition (an independent route from binomtest)
    assert summary.runs == 100 and summary.errors == 2 and summary.rejections == 7
    assert math.isclose(summary.low, stats.beta.ppf(0.025, 7, 94), rel_tol=1e-6)
    assert math.isclose(summary.high, stats.beta.ppf(0.975, 8, 93), rel_tol=1e-6)


def _rows(kind, claim, fails, runs):
    return [{"kind": kind, "claim": claim, "verdict": "fail" if i < fails else "pass", "detectable_gap": 0.1,
             "seconds": 0.0} for i in range(runs)]


def test_a_claim_above_its_level_and_a_weak_variant_are_flagged():
    rows = _rows("claim", "honest", 5, 200) + _rows("claim", "liberal", 30, 200) + \
        _rows("variant", "strong#v", 200, 200) + _rows("variant", "weak#v", 150, 200)
    result = summarize(rows, {"honest": 0.05, "liberal": 0.05}, beta=1e-3)
    assert result["flagged_claims"] == ["liberal"] and result["flagged_claims_after_bonferroni"] == ["liberal"]
    assert result["variants_below_promise"] == ["weak#v"]


# ---------------------------------------------------------------- sweep cost estimate
def test_sweep_cost_is_the_exact_acceptance_rate_and_refuses_the_e20_point():
    from estimators.baselines import chernoff_baseline
    from tiltproof.instances.single_step import get_instance
    from tiltproof.sweep import parse_spec, plan_points

    spec = parse_spec({"family": "single-step", "grid": {"instance": ["gaussian-linear-d1"], "lambda": [0.25, 1.0],
                                                         "delta": [0.01]}})
    run, skipped, alpha = plan_points(spec)
    assert [dict(point)["lambda"] for point in run] == [1.0]
    (point, cost), = skipped
    assert dict(point)["lambda"] == 0.25 and "proposals per sample" in cost.describe()
    # p = N(0,1), r(x) = x: Z_b = P(X > b) + e^{−b/λ + 1/(2λ²)} Φ(b − 1/λ), and proposals per sample = 1/Z_b
    lam = 0.25
    b = chernoff_baseline(get_instance("gaussian-linear-d1").law, lam, 0.01).value
    log_z = math.log(math.exp(stats.norm.logsf(b)) + math.exp(-b / lam + 0.5 / lam ** 2 + stats.norm.logcdf(b - 1 / lam)))
    assert math.isclose(math.log(cost.proposals_per_sample), -log_z, rel_tol=1e-6) and cost.proposals_per_sample > 1e8


def test_ctrl_c_during_sweep_exits_130_and_resume_runs_only_the_missing_points(tmp_path, monkeypatch, capsys):
    import tiltproof.sweep as sweep

    spec = tmp_path / "sweep.toml"
    spec.write_text('family = "single-step"\nseed = 1\n[grid]\ninstance = ["finite-k10"]\nlambda = [1.0, 0.5]\n'
                    'delta = [0.5]\n')
    real, calls = sweep.run_point, []

    def interrupted_second(*arguments):
        calls.append(arguments[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*arguments)

    output = tmp_path / "sweep.json"
    monkeypatch.setattr(sweep, "run_point", interrupted_second)
    assert cli.main(["sweep", str(spec), "--workers", "1", "--json", str(output)]) == 130
    assert f"tiltproof sweep --resume {output}" in capsys.readouterr().err
    kept = json.loads(output.read_text())["claims"]
    assert {sweep.point_key(record["point"]) for record in kept} == {sweep.point_key(calls[0])}
    calls.clear()
    assert cli.main(["sweep", str(spec), "--workers", "1", "--resume", str(output)]) == 0
    assert len(calls) == 1  # only the missing point ran
    assert len(json.loads(output.read_text())["claims"]) == 2 * len(kept)


def test_calibrate_interrupted_then_resumed_gives_the_uninterrupted_summary(tmp_path, monkeypatch, capsys):
    import tiltproof.calibrate as calibrate

    def fake(kind, claim_id, alpha, seed, device):  # claim 0 of the selection "fails" at every even seed
        verdict = "fail" if seed % 2 == 0 and claim_id.endswith("b=3.161") else "pass"
        return calibrate._row(kind, claim_id, alpha, seed, verdict, 10, 0.1, 0.0, "")

    calls = []

    def interrupted_fifth(*arguments):
        calls.append(arguments)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return fake(*arguments)

    common = ["calibrate", "--runs", "4", "--only", CHEAP, "--no-variants", "--workers", "1"]
    output, fresh = tmp_path / "cal.json", tmp_path / "fresh.json"
    monkeypatch.setattr(calibrate, "calibration_row", interrupted_fifth)
    assert cli.main([*common, "--json", str(output)]) == 130
    assert len(json.loads(output.read_text())["runs"]) == 4
    monkeypatch.setattr(calibrate, "calibration_row", fake)
    status = cli.main([*common, "--resume", str(output)])
    assert cli.main([*common, "--json", str(fresh)]) == status
    resumed, uninterrupted = (json.loads(path.read_text())["meta"]["summary"] for path in (output, fresh))
    assert resumed == uninterrupted and resumed["claims"]
    rates = {row["claim"]: row["rate"] for row in resumed["claims"]}
    assert rates["t3.chernoff_tail/finite-k10/b=3.161"] == 0.5 and status == 1  # 2 of 4 runs at a small level
