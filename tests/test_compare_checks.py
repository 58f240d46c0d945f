"""``benchmarks/compare_checks.py --figures``: every field of every record compared, timing apart."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("compare_checks",
                                              Path(__file__).resolve().parents[1] / "benchmarks" / "compare_checks.py")
compare_checks = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(compare_checks)


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps({"meta": {"seconds": 1.0}, "claims": records}))
    return path


RECORD = {"id": "t1/a", "verdict": "pass", "margin": 0.25, "seconds": 3.0, "n": 10,
          "details": {"per_step": [{"t": 0, "tv": 0.1}, {"t": 1, "tv": 0.2}]}}


def test_figures_flags_a_changed_detail_and_ignores_timing(tmp_path, capsys):
    left = _write(tmp_path / "left.json", [RECORD])
    moved = {**RECORD, "seconds": 9.0, "details": {"per_step": [{"t": 0, "tv": 0.1}, {"t": 1, "tv": 0.2000001}]}}
    right = _write(tmp_path / "right.json", [moved])
    assert compare_checks.main([str(left), str(right)]) == 0          # verdicts alone agree
    assert compare_checks.main(["--figures", str(left), str(right)]) == 1
    assert "details.per_step[1].tv: 0.2 vs 0.2000001" in capsys.readouterr().out
    retimed = _write(tmp_path / "retimed.json", [{**RECORD, "seconds": 9.0}])
    assert compare_checks.main(["--figures", str(left), str(retimed)]) == 0


def test_figures_tells_an_int_from_a_float_and_a_missing_field(tmp_path):
    left = _write(tmp_path / "left.json", [RECORD])
    assert compare_checks.field_differences({"a": RECORD}, {"a": {**RECORD, "n": 10.0}}) == [("a", "n", 10, 10.0)]
    trimmed = {key: value for key, value in RECORD.items() if key != "margin"}
    assert compare_checks.field_differences({"a": RECORD}, {"a": trimmed}) == [("a", "margin", 0.25, "—")]
    assert compare_checks.main(["--figures", str(left), str(left)]) == 0
