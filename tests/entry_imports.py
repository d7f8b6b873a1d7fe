"""What a rule's entry (its `script:` file, or the `python -m` module of its shell command) imports
when it runs, read from the source: the project modules it loads and the third-party top-level
modules they import, lazy imports inside the functions it reaches included.

Reach is by name, so that one module can serve rules in different environments
(amalia_wf.genbench.workflow: one function per rule, each importing what it needs):
- the entry's own top-level code (a script, or the main guard of a `python -m` module), and every
  project function, class (all its methods) or module-level table it names;
- the top-level code of every project module imported on the way; there only the functions it
  calls count (a function stored in a table at import time runs when code that reads the table
  calls it: reading the table reaches everything in it);
- the same, transitively, for every function, class and table reached.
Branches are not evaluated: a reached function's imports count whatever its `if`s decide.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "amalia_wf"
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class Reach:
    modules: set[str] = field(default_factory=set)  # project modules whose top-level code runs
    imports: dict[str, set[str]] = field(default_factory=dict)  # third-party top-level module -> {"file:line"}


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def module_file(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@cache
def _definitions(path: Path) -> dict[str, ast.stmt]:
    """Top-level functions, classes and assigned names of a file -> their statement."""
    found: dict[str, ast.stmt] = {}
    for node in _tree(path).body:
        if isinstance(node, _DEFS):
            found[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update((t.id, node) for t in targets if isinstance(t, ast.Name))
    return found


def _test(node: ast.stmt) -> str:
    return ast.unparse(node.test) if isinstance(node, ast.If) else ""


def _bindings(statements: list[ast.stmt]) -> dict[str, tuple[str, str | None]]:
    """local name -> (project module, name in it, or None for the module itself), from imports."""
    bound: dict[str, tuple[str, str | None]] = {}
    for stmt in statements:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Import):
                bound.update((a.asname, (a.name, None)) for a in node.names if a.asname and a.name.split(".")[0] == PACKAGE)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == PACKAGE:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    bound[alias.asname or alias.name] = (sub, None) if module_file(sub) else (node.module, alias.name)
    return bound


class _Walker:
    """Visits units: a file's top-level code (name None) or one of its top-level definitions."""

    def __init__(self) -> None:
        self.reach = Reach()
        self._done: set[tuple[Path, str | None]] = set()
        self._todo: list[tuple[Path, str | None, bool]] = []

    def add(self, path: Path, name: str | None, entry: bool = False) -> None:
        if (path, name) in self._done or (name is not None and name not in _definitions(path)):
            return
        self._done.add((path, name))
        self._todo.append((path, name, entry))

    def add_name(self, module: str, name: str) -> None:
        path = module_file(module)
        if path is not None:
            self.add(path, name)

    def add_module(self, module: str) -> None:
        """Importing a.b.c runs a, a.b and a.b.c."""
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            path = module_file(".".join(parts[:i]))
            if path is not None:
                self.reach.modules.add(".".join(parts[:i]))
                self.add(path, None)

    def run(self) -> Reach:
        while self._todo:
            self._visit(*self._todo.pop())
        return self.reach

    def _visit(self, path: Path, name: str | None, entry: bool) -> None:
        if name is not None:
            statements, calls_only = [_definitions(path)[name]], False
        else:
            body = [n for n in _tree(path).body if not isinstance(n, _DEFS) and not _test(n).endswith("TYPE_CHECKING")]
            # An imported module's main guard does not run; `python -m`'s does (the entry is __main__).
            statements = [n for n in body if entry or "__main__" not in _test(n)]
            calls_only = not entry
        bound = _bindings(_tree(path).body) | _bindings(statements)
        called = {id(c.func) for s in statements for c in ast.walk(s) if isinstance(c, ast.Call)}
        for stmt in statements:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    self._import(node, path)
                elif calls_only and id(node) not in called:
                    continue
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    module, attr = bound.get(node.id, (None, None))
                    if module is None:
                        self.add(path, node.id)
                    elif attr is not None:
                        self.add_name(module, attr)
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    module, attr = bound.get(node.value.id, (None, ""))
                    if module is not None and attr is None:
                        self.add_name(module, node.attr)

    def _import(self, node: ast.Import | ast.ImportFrom, path: Path) -> None:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            return
        for full in names:
            top = full.split(".")[0]
            if top == PACKAGE:
                # `from amalia_wf.x import name`: x runs; the name counts where it is used.
                self.add_module(full if module_file(full) is not None else full.rpartition(".")[0])
            elif top not in sys.stdlib_module_names and top != "__future__":
                self.reach.imports.setdefault(top, set()).add(f"{path.relative_to(REPO)}:{node.lineno}")


def entry_reach(entry: dict[str, str]) -> Reach:
    """`entry`: {"script": path relative to the repository} or {"module": dotted project module}."""
    walker = _Walker()
    if "script" in entry:
        walker.add(REPO / entry["script"], None, entry=True)
    else:
        module = entry["module"]
        path = module_file(module)
        assert path is not None, f"no project module {module}"
        walker.add_module(module.rpartition(".")[0])
        walker.reach.modules.add(module)
        walker.add(path, None, entry=True)
    return walker.run()
