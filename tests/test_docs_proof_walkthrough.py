"""docs/adding-a-theorem.md, section 9 ("A proof"): every python block runs as written, in order, in one
namespace, and the walkthrough's proof is what the section says (its own assertions run inside the blocks)."""
from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "adding-a-theorem.md"


def _section_blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## 9. A proof", 1)[1].split("\n## 10.", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_every_python_block_of_the_proof_section_runs():
    blocks = _section_blocks()
    assert len(blocks) >= 7, "the walkthrough's blocks are missing"
    namespace: dict = {"__name__": "docs_walkthrough"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)       # noqa: S102 - the doc's own code
    declared = namespace["proofs"]()
    assert [proof.id for proof in declared] == ["docs.bon_kl_bound"]
    assert [step.name for step in declared[0].steps] == ["law", "bound", "integral"]
