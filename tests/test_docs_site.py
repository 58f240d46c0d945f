"""The documentation site's structure (mkdocs.yml, docs/, the README landing page), checked without mkdocs.

CI builds the site with ``mkdocs build --strict`` (.ci/run), which fails on a broken link or a page missing
from the nav; these cheap checks catch the same mistakes in the default test run, where mkdocs is not
installed: a page not in the nav (orphaned), a nav entry without its page, a link from a page or from the
README to a file that does not exist, a Markdown link from docs/ to code outside docs/ (the site holds only
docs/), and README set-up commands that differ from the ones .ci/run executes.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def nav_pages(config: str) -> list[str]:
    """The ``*.md`` files named in the ``nav:`` block of an mkdocs.yml text (entries ``- Title: page.md``)."""
    match = re.search(r"^nav:\n((?:[ \t]+.*\n?)*)", config, flags=re.M)
    if match is None:
        raise ValueError("config: mkdocs.yml has no nav: block")
    return re.findall(r":\s*([\w./-]+\.md)\s*$", match.group(1), flags=re.M)


def local_links(markdown: str) -> list[str]:
    """Targets of Markdown links and images that point into the repository (no URL, no bare #anchor)."""
    targets = [target.split("#", 1)[0] for target in LINK.findall(markdown)]
    return [target for target in targets if target and not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def test_nav_lists_every_page_once_and_only_pages_that_exist():
    pages = nav_pages((ROOT / "mkdocs.yml").read_text())
    on_disk = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))
    assert len(pages) == len(set(pages)), f"a page is in the nav twice: {pages}"
    assert sorted(pages) == on_disk, (f"orphaned (add to mkdocs.yml's nav): {sorted(set(on_disk) - set(pages))}; "
                                      f"in the nav without a file: {sorted(set(pages) - set(on_disk))}")


def test_nav_parser_sees_a_missing_page():
    config = "site_name: x\nnav:\n  - Home: index.md\n  - Group:\n      - A: a.md\n"
    assert nav_pages(config) == ["index.md", "a.md"]
    with pytest.raises(ValueError, match="config"):
        nav_pages("site_name: x\n")


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda path: path.relative_to(DOCS).as_posix())
def test_docs_links_stay_inside_docs_and_exist(page: Path):
    for target in local_links(page.read_text()):
        resolved = (page.parent / target).resolve()
        assert resolved.is_relative_to(DOCS), (
            f"{page.name} links to {target}, outside docs/: write it as a code span (`path/to/file.py`)")
        assert resolved.exists(), f"{page.name} links to {target}, which does not exist"


def test_readme_links_exist():
    readme = (ROOT / "README.md").read_text()
    links = local_links(readme)
    assert any(link.startswith("docs/") for link in links), "the README links to no page under docs/"
    for target in links:
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"


def test_readme_set_up_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = [line.replace("pip install -q ", "pip install ") for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.startswith("pip install") and ("python -m pytest" in line or "tiltproof check --json" in line)]
    assert len(ci) == 2, ci
    for command in ci:
        assert f"```bash\n{command}\n```" in readme, f"README.md lacks the set-up command {command!r} that .ci/run runs"
    assert re.search(r"^## Measured results$", readme, flags=re.M), "README.md lost its Measured results section"
