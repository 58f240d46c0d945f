"""``benchmarks/masked_lm.py``'s bookkeeping without a model: ``--merge`` combines runs at the same B key by key
and records where each part came from; the markdown states the 10× verdict from the numbers it is given."""
from __future__ import annotations

import json

from benchmarks import masked_lm as bench


def _row(method: str, queries: float, share: float, **extra) -> dict:
    return {"method": method, "B": 3.0, "n": 300, "queries_per_sample": queries, "in_reward_set": share,
            "examples": ["open a file"], "step_queries_per_sample": [queries / 9] * 9, **extra}


def _analysis(best: float, oracle: float, trajectory: float) -> dict:
    return {"base_share": 0.013, "best_saving": best, "best_saving_interval": [best * 0.95, best * 1.05],
            "oracle_queries": oracle, "parent_envelope_queries": oracle * 1.2, "trajectory_expected": trajectory,
            "oracle_step_queries": [oracle / 9] * 9}


def _meta(command: str) -> dict:
    return {"quick": True, "preset": "quick", "command": command, "length": 16, "unmask": 2, "steps": 8,
            "training": {"seconds": 0.0, "sequences": 10}, "device": "cpu", "load_average": [1.0, 1.0, 1.0],
            "seconds": 5.0, "settings": {}}


def _runs() -> tuple[dict, dict]:
    certificate = {"certified": True, "reason": "certified: path TV ≤ ε"}
    rows_run = {"meta": _meta("rows"), "heights": [{"B": 3.0, "rows": [
        _row("unaligned", 9.0, 0.02), _row("trajectory", 140.0, 0.2), _row("ideal_per_step", 141.0, 0.15),
        _row("lcb", 80.0, 0.12, training_queries=1000, certificate=certificate)]}]}
    analysis_run = {"meta": _meta("analysis"), "heights": [{"B": 3.0, "rows": [],
                                                            "analysis": _analysis(16.0, 21.0, 145.0)}]}
    return rows_run, analysis_run


def test_merge_combines_a_height_key_by_key_and_names_its_sources():
    rows_run, analysis_run = _runs()
    merged = bench.merge_results([rows_run, analysis_run], ["rows.json", "analysis.json"])
    (block,) = merged["heights"]
    assert block["rows"] == rows_run["heights"][0]["rows"]
    assert block["analysis"] == analysis_run["heights"][0]["analysis"]
    assert block["rows_from"] == "rows.json" and block["analysis_from"] == "analysis.json"
    assert [part["file"] for part in merged["meta"]["parts"]] == ["rows.json", "analysis.json"]
    json.dumps(merged)                                    # a results file


def test_markdown_states_the_ratios_from_the_numbers():
    rows_run, analysis_run = _runs()
    text = bench.markdown(bench.merge_results([rows_run, analysis_run], ["rows.json", "analysis.json"]))
    analysis = analysis_run["heights"][0]["analysis"]
    assert f"{140.0 / 80.0:.1f}" in text                                   # trajectory / LCB
    assert f"{analysis['trajectory_expected'] / analysis['oracle_queries']:.1f}" in text
    assert "not met" in text and "no per-step baseline with LCB's guarantee reaches 10×" in text  # floor ≥ 10, oracle < 10
    low_floor = dict(analysis_run, heights=[dict(analysis_run["heights"][0], analysis=_analysis(2.7, 9.0, 24.0))])
    text = bench.markdown(bench.merge_results([rows_run, low_floor], ["rows.json", "analysis.json"]))
    assert "no per-step sampler can reach 10×" in text
