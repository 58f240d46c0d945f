"""Rewrite imports and dotted references after the ``estimators/`` restructuring (issue 21 item 5).

Reads ``tools/estimators_moves.txt`` (``old.module -> new.module`` moves a whole module,
``old.module:name -> new.module`` moves one name) and rewrites, in the files given on the command line:

* ``from old import a, b`` statements (split by the new home of each name, parsed with ``ast``);
* ``import old as x`` statements of whole-module moves;
* ``from estimators import design`` followed by ``design.NAME``: a moved NAME becomes a plain name imported
  from its new module;
* dotted references ``estimators.old`` / ``estimators.old.name`` and paths ``estimators/old.py`` in code,
  docstrings and prose.

Run it on files that still use the old names (e.g. those a merge brings in):
``python tools/apply_estimators_moves.py $(git diff --name-only --diff-filter=AM main...other)``.
Running it over already-rewritten text is safe except for prose that says ``estimators.exact.tilted_law`` alone
(the old module ``estimators/exact/tilted_law.py``, now the package ``estimators/exact/``): that is rewritten to
``estimators.exact.tilted_law``.
"""
from __future__ import annotations

import ast
import pathlib
import re
import sys

MOVES = pathlib.Path(__file__).with_name("estimators_moves.txt")


def read_moves(path: pathlib.Path = MOVES) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(module moves, name moves) from the mapping file."""
    modules, names = {}, {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        old, new = (part.strip() for part in line.split("->"))
        if ":" in old:
            module, name = old.split(":")
            names[(module, name)] = new
        else:
            modules[old] = new
    return modules, names


def new_home(module: str, name: str, modules: dict[str, str], names: dict[tuple[str, str], str]) -> str:
    return names.get((module, name), modules.get(module, module))


def _format_import(indent: str, module: str, aliases: list[str], width: int = 118) -> str:
    line = f"{indent}from {module} import {', '.join(aliases)}"
    if len(line) <= width:
        return line
    head = f"{indent}from {module} import ("
    lines, current = [], head
    for index, alias in enumerate(aliases):
        piece = alias + ("," if index < len(aliases) - 1 else ")")
        if len(current) + len(piece) + 1 > width and current.strip() not in ("", head.strip()):
            lines.append(current.rstrip())
            current = " " * len(head) + piece
        else:
            current = current + ("" if current.endswith("(") else " ") + piece
    lines.append(current)
    return "\n".join(lines)


def rewrite_imports(source: str, modules: dict[str, str], names: dict[tuple[str, str], str]) -> str:
    """Source with every import of a moved module or name pointing at its new home."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    moved = set(modules) | {module for module, _ in names}
    parents = {module.rpartition(".")[0] for module in modules}
    targets = set(modules.values()) | set(names.values())
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in moved:
            groups: dict[str, list[str]] = {}
            for alias in node.names:
                text = alias.name + (f" as {alias.asname}" if alias.asname else "")
                submodule = f"{node.module}.{alias.name}" in targets      # new package estimators.exact.tilted_law
                home = node.module if submodule else new_home(node.module, alias.name, modules, names)
                groups.setdefault(home, []).append(text)
        elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in parents
              and any(f"{node.module}.{alias.name}" in modules for alias in node.names)):
            groups = {}
            for alias in node.names:
                target = modules.get(f"{node.module}.{alias.name}", f"{node.module}.{alias.name}")
                parent, _, leaf = target.rpartition(".")
                bound = alias.asname or alias.name
                groups.setdefault(parent, []).append(leaf + (f" as {bound}" if bound != leaf else ""))
        elif isinstance(node, ast.Import) and any(alias.name in modules for alias in node.names):
            groups = None
        else:
            continue
        first, last = node.lineno - 1, node.end_lineno - 1
        indent = re.match(r"\s*", lines[first]).group(0)
        comments = [match.group(0) for line in lines[first:last + 1] for match in [re.search(r"\s*#.*$", line.rstrip("\n"))]
                    if match]
        tail = comments[0] if comments else ""
        if groups is None:
            parts = [modules.get(alias.name, alias.name) + (f" as {alias.asname}" if alias.asname else "")
                     for alias in node.names]
            text = f"{indent}import {', '.join(parts)}"
        else:
            text = "\n".join(_format_import(indent, module, aliases, 118 - len(tail))
                             for module, aliases in groups.items())
        head, _, rest = text.partition("\n")
        edits.append((first, last, head + tail + ("\n" + rest if rest else "") + "\n"))
    for first, last, text in sorted(edits, reverse=True):
        lines[first:last + 1] = [text]
    return "".join(lines)


def rewrite_module_attributes(source: str, names: dict[tuple[str, str], str]) -> str:
    """``from estimators import design`` then ``design.NAME``: each moved NAME becomes a plain name imported from
    its new module (the module import stays while other attributes of it are still used)."""
    for match in list(re.finditer(r"^( *)from (\w+) import (\w+)(?: as (\w+))?\n", source, re.M)):
        module, alias = f"{match.group(2)}.{match.group(3)}", match.group(4) or match.group(3)
        if not any(old == module for old, _ in names):
            continue
        used = set(re.findall(rf"(?<![\w.]){alias}\.(\w+)", source))
        moved = {name: names[(module, name)] for name in used if (module, name) in names}
        if not moved:
            continue
        source = re.sub(rf"(?<![\w.]){alias}\.(\w+)", lambda m: m.group(1) if m.group(1) in moved else m.group(0),
                        source)
        groups: dict[str, list[str]] = {}
        for name, target in sorted(moved.items()):
            groups.setdefault(target, []).append(name)
        indent = match.group(1)
        lines = "\n".join(_format_import(indent, target, found) for target, found in sorted(groups.items())) + "\n"
        keep = match.group(0) if used - set(moved) else ""
        start = source.index(match.group(0))
        source = source[:start] + lines + keep + source[start + len(match.group(0)):]
    return source


_DOTTED = re.compile(r"\bestimators\.([a-z_]\w*)(?:\.([A-Za-z_]\w*))?")
_PATH = re.compile(r"\bestimators/([a-z_]\w*)\.py\b")


def rewrite_references(text: str, modules: dict[str, str], names: dict[tuple[str, str], str]) -> str:
    """Dotted references and file paths of moved modules and names, rewritten."""
    targets = set(modules.values()) | set(names.values())

    def dotted(match: re.Match) -> str:
        module, attribute = f"estimators.{match.group(1)}", match.group(2)
        if re.match(r"\s+import\b", match.string[match.end():]):   # an import statement: rewritten by ast
            return match.group(0)
        if attribute and f"{module}.{attribute}" in targets:
            return match.group(0)
        if attribute and (module, attribute) in names:
            return f"{names[(module, attribute)]}.{attribute}"
        if module in modules:
            return modules[module] + (f".{attribute}" if attribute else "")
        return match.group(0)

    def path(match: re.Match) -> str:
        module = f"estimators.{match.group(1)}"
        return modules[module].replace(".", "/") + ".py" if module in modules else match.group(0)

    return _PATH.sub(path, _DOTTED.sub(dotted, text))


def main(paths: list[str]) -> int:
    modules, names = read_moves()
    for name in paths:
        file = pathlib.Path(name)
        if not file.is_file():
            continue
        text = file.read_text()
        new = rewrite_imports(rewrite_module_attributes(text, names), modules, names) if file.suffix == ".py" else text
        new = rewrite_references(new, modules, names)
        if new != text:
            file.write_text(new)
            print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
