"""The package's layers, read from its own source: ``python -m inpaintkit.layers`` prints which
package imports which, import circles, imports that go up a layer, and modules over the line
limit (exit status 1 when any rule is broken). tests/test_architecture.py asserts the same.

Layers, lowest first (a package may import only those its ``ALLOWED`` entry names):
errors, options, threads; io, masks, diffusion, networks; data, metrics; models; methods, train;
api; bench; cli, web, server (web: the FastAPI app and the user study; only the cli imports
it). Function-local imports count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_LINES = 400
_BASE = {"errors", "options", "threads"}
ALLOWED: dict[str, set[str]] = {
    "__init__": {"api", "errors", "methods", "models", "io"},
    "__main__": {"cli", "threads"},
    "errors": set(),
    "options": {"errors"},
    "threads": {"errors"},
    "layers": set(),
    "io": _BASE,
    "masks": _BASE,
    "diffusion": _BASE,
    "networks": _BASE | {"diffusion"},
    "data": _BASE | {"io", "masks"},
    "metrics": _BASE | {"io", "data"},
    "models": _BASE | {"networks", "diffusion", "io"},
    "methods": _BASE | {"io", "masks", "diffusion", "networks", "models"},
    "train": _BASE | {"io", "masks", "diffusion", "networks", "models", "data", "metrics"},
    "api": _BASE | {"io", "masks", "models", "methods"},
    "bench": _BASE
    | {"io", "masks", "diffusion", "networks", "models", "methods", "api", "metrics", "data"},
    "cli": set(),  # filled below: everything but the server
    "server": set(),  # everything but the cli
    "web": set(),  # filled below: everything but the cli and the server
}
_ALL = set(ALLOWED) - {"__init__", "__main__", "layers"}
ALLOWED["cli"] = _ALL - {"server", "cli"}
ALLOWED["server"] = _ALL - {"server", "cli", "web"}
ALLOWED["web"] = _ALL - {"server", "cli", "web"}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the inpaintkit modules it imports}, for every .py file under ``root`` (the
    package folder). ``from .x import name`` counts as importing ``x.name`` when that is a
    module, else ``x``."""
    files = {_module_name(root, p): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            for target in targets:
                if target.split(".")[0] != root.name:
                    continue
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    deps.add(target)
        # ``from .x import y`` adds both x.y (when a module) and x; keep the deepest only
        graph[name] = {d for d in deps if not any(o.startswith(d + ".") for o in deps)}
    return graph


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs whose top-level packages the ``ALLOWED`` table forbids."""
    bad = []
    for module, deps in sorted(graph.items()):
        top = _top(module)
        for dep in sorted(deps):
            other = _top(dep)
            if other != top and other not in ALLOWED.get(top, set()):
                bad.append((module, dep))
    return bad


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted, with
    package ``__init__`` re-exports ignored (a package importing its own submodules is not a
    circle)."""
    edges = {
        m: {d for d in deps if not (m == d.rpartition(".")[0] or d == m.rpartition(".")[0])}
        for m, deps in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(edges.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(cycles)


def long_modules(root: Path, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """(module, lines) of every module over ``limit`` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text().splitlines())
        if lines > limit:
            found.append((_module_name(root, path), lines))
    return found


def main() -> int:
    """Print the package-level layer graph and every broken rule; 1 when any."""
    root = Path(__file__).resolve().parent
    graph = import_graph(root)
    packages: dict[str, set[str]] = {}
    for module, deps in graph.items():
        packages.setdefault(_top(module), set()).update(
            _top(d) for d in deps if _top(d) != _top(module)
        )
    for package in sorted(packages):
        print(f"{package:<10} -> {', '.join(sorted(packages[package])) or '-'}")
    problems = 0
    for cycle in find_cycles(graph):
        print("import circle: " + " <-> ".join(cycle))
        problems += 1
    for module, dep in upward_imports(graph):
        print(f"upward import: {module} imports {dep}")
        problems += 1
    for module, lines in long_modules(root):
        print(f"long module: {module} has {lines} lines (limit {MAX_LINES})")
        problems += 1
    print(f"{len(graph)} modules; {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
