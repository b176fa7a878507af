"""The package's layering, read from its own imports (``python -m inpaintkit.layers`` prints it):
no import circles between modules, no package importing a layer above it, no module over 400
lines. Function-local imports count: a lazy import is still a dependency."""

from __future__ import annotations

from pathlib import Path

import pytest

from inpaintkit.layers import (
    ALLOWED,
    MAX_LINES,
    find_cycles,
    import_graph,
    long_modules,
    upward_imports,
)

ROOT = Path(__file__).resolve().parents[1] / "src" / "inpaintkit"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT)


def test_graph_sees_the_package(graph: dict[str, set[str]]) -> None:
    assert "inpaintkit.cli.inpaint" in graph
    assert "inpaintkit.methods.registry" in graph["inpaintkit.cli.inpaint"] or any(
        dep.startswith("inpaintkit.methods") for dep in graph["inpaintkit.cli.inpaint"]
    )
    # every top-level package has a rule
    tops = {name.split(".")[1] for name in graph if name.count(".") >= 1}
    assert tops - {"__init__", "__main__"} <= set(ALLOWED), sorted(tops - set(ALLOWED))


def test_no_import_circles(graph: dict[str, set[str]]) -> None:
    assert find_cycles(graph) == []


def test_no_import_from_a_lower_layer_up(graph: dict[str, set[str]]) -> None:
    assert upward_imports(graph) == []


def test_no_module_over_the_line_limit() -> None:
    assert long_modules(ROOT) == [], f"modules over {MAX_LINES} lines"


def test_the_checks_can_fail() -> None:
    """The detectors find what they should on a graph made to break the rules."""
    bad = {
        "inpaintkit.models.a": {"inpaintkit.methods.b"},  # models may not import methods
        "inpaintkit.methods.b": {"inpaintkit.models.a"},
    }
    assert find_cycles(bad) == [["inpaintkit.methods.b", "inpaintkit.models.a"]]
    assert upward_imports(bad) == [("inpaintkit.models.a", "inpaintkit.methods.b")]
