"""``pip install .`` gives a notebook ``stats`` and ``sources``: the README's notebook example
runs in a fresh virtualenv, from outside the checkout, with no web dependencies installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def notebook_example() -> tuple[str, list[str]]:
    """The README's notebook code block and the output its ``print(...)  # ...`` comments give."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using the statistics from a notebook", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README's notebook section has no python block"
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+#\s*(.+)$", code[1], re.M)]
    assert expected, "the example's print lines say their output in a comment"
    return code[1], expected


@pytest.mark.slow
def test_readme_notebook_example_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    code, expected = notebook_example()
    # a copy of what the project ships, so that building leaves nothing in the checkout
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("stats", "sources"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    # pip refuses extras in constraints: the same pins without them
    pins = re.sub(r"\[[^\]]*\]", "", (ROOT / "requirements.txt").read_text(encoding="utf-8"))
    (tmp_path / "constraints.txt").write_text(pins, encoding="utf-8")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(src), "-c", str(tmp_path / "constraints.txt")],
        check=True, cwd=tmp_path, timeout=900,
    )  # fmt: skip
    elsewhere = tmp_path / "notebook"
    elsewhere.mkdir()
    (elsewhere / "example.py").write_text(code, encoding="utf-8")
    run = subprocess.run(
        [python, "example.py"], cwd=elsewhere, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == expected
    # the installed packages, not the checkout; and no web app came with them
    where = subprocess.run(
        [python, "-c", "import stats, sources, importlib.util as u; print(stats.__file__); "
         "print(sources.__file__); print([m for m in ('flask', 'plotly', 'blueprints', 'app') "
         "if u.find_spec(m)])"],
        cwd=elsewhere, capture_output=True, text=True, check=True,
    )  # fmt: skip
    stats_file, sources_file, web = where.stdout.splitlines()
    assert str(venv) in stats_file and str(venv) in sources_file
    assert web == "[]"
