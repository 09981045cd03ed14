"""The layers of DESIGN.md, checked on the source: ``stats`` is pure (numpy, scipy,
statsmodels on arrays and sufficient statistics: no web, no plotting, no engines, no files),
and only ``sources`` touches data frames, so neither ``stats`` nor ``blueprints`` imports
pandas. Imports are read with :mod:`ast` (every ``import``, also inside functions and
``TYPE_CHECKING`` blocks), never by matching text."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FRAMES = {"pandas"}
"""Data frames belong to ``sources``."""
ENGINES = {"duckdb", "ibis", "pyspark", "pyarrow", "psycopg", "psycopg2", "sqlalchemy"}
"""Queries and Arrow tables belong to ``sources`` too: a blueprint calls it."""
NOT_IN_STATS = {
    "flask",
    "werkzeug",
    "plotly",
    "orjson",
    "sqlite3",
    "duckdb",
    "ibis",
    "pyarrow",
    "pyspark",
    "psycopg",
    "psycopg2",
    "sqlalchemy",
    "csv",
    "io",
    "pathlib",
    "sources",
    "blueprints",
    "experiments",
}
"""No web, figures, engines, SQL, file reading, or the layers above ``stats``."""
FILE_CALLS = {"open"}
"""Builtins that read files (``stats`` has no I/O)."""


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level module)`` of every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def _violations(package: str, forbidden: set[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules(package)
        for line, module in _imports(path)
        if module in forbidden
    ]


@pytest.mark.parametrize("package", ["stats", "blueprints"])
def test_no_data_frames_outside_sources(package: str) -> None:
    assert _modules(package), f"no modules found under {package}/"
    assert _violations(package, FRAMES) == []


def test_blueprints_run_no_queries() -> None:
    assert _violations("blueprints", ENGINES) == []


def test_stats_is_pure() -> None:
    assert _violations("stats", NOT_IN_STATS) == []


def test_stats_reads_no_files() -> None:
    calls = [
        f"{path.relative_to(ROOT)}:{node.lineno} calls {node.func.id}()"
        for path in _modules("stats")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FILE_CALLS
    ]
    assert calls == []


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    # The parser finds every form of import a violation could take, and no mention in text.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import pandas as pd\n"
        "from pyarrow import csv\n"
        "import numpy.linalg, flask.json\n"
        "from . import sibling\n"
        "def f():\n"
        "    import duckdb\n"
        "    return __import__('ibis')\n"
        "text = 'import plotly'\n",
        encoding="utf-8",
    )
    modules = [m for _, m in _imports(sample)]
    assert sorted(modules) == ["duckdb", "flask", "ibis", "numpy", "pandas", "pyarrow"]
