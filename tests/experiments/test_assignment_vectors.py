"""The assignment hash as the README documents it ("Assign units locally"), for client SDKs.

:func:`spec` implements the documented scheme from scratch with :mod:`hashlib` (hex digest,
integer division, an explicit loop), without :mod:`experiments.assignment`. The server's
function, the Python and JavaScript reference snippets in ``static/samples/`` and the README's
test-vector table must all agree with it on :data:`VECTORS`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from experiments.assignment import assign_variant, unit_position

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "static" / "samples"

Variants = list[tuple[str, float]]
VECTORS: list[tuple[int, str, Variants]] = [
    (42, "u123", [("control", 0.5), ("B", 0.5)]),
    (42, "u123", [("control", 0.95), ("B", 0.05)]),
    (7, "user-0001", [("control", 1), ("B", 1), ("C", 1)]),
    (1, "alice@example.com", [("control", 0.1), ("B", 0.2), ("C", 0.7)]),
    (2, "josé", [("control", 0.5), ("treatment", 0.5)]),
    (3, "🙂", [("A", 0.0), ("B", 1.0), ("C", 0.0)]),
    (12345, "550e8400-e29b-41d4-a716-446655440000", [("control", 90), ("new", 10)]),
    (99, "device:7f3a", [("control", 0.25), ("B", 0.25), ("C", 0.25), ("D", 0.25)]),
    (100, "42", [("control", 0.5), ("B", 0.3), ("C", 0.2)]),
    (100, "43", [("control", 0.5), ("B", 0.3), ("C", 0.2)]),
]
"""(experiment id, unit, variants in order with weights): equal and unequal weights, weights
not summing to 1, a zero weight, non-ASCII units."""


def spec(experiment_id: int, unit: str, variants: Variants) -> tuple[str, float, str]:
    """The README's scheme: (first 8 digest bytes as hex, position, variant).

    1. key = UTF-8 bytes of the experiment id in decimal, ":", the unit;
    2. n = the first 8 bytes of SHA-256(key) as a big-endian unsigned integer;
    3. position = floor(n / 2**11) / 2**53 (the top 53 bits, exact in a double);
    4. running totals c_i of the weights in order (double additions, left to right);
       x = position × c_last (one double multiplication);
    5. the variant is the first i with c_i > x.
    """
    head = hashlib.sha256(f"{experiment_id}:{unit}".encode()).hexdigest()[:16]
    position = (int(head, 16) // 2**11) * 2.0**-53
    totals, running = [], 0.0
    for _, weight in variants:
        running += float(weight)
        totals.append(running)
    x = position * running
    i = 0
    while not totals[i] > x:
        i += 1
    return head, position, variants[i][0]


EXPECTED = [spec(*v) for v in VECTORS]


def test_the_server_assigns_as_documented() -> None:
    for (experiment, unit, variants), (_, position, variant) in zip(VECTORS, EXPECTED, strict=True):
        names, weights = [n for n, _ in variants], [w for _, w in variants]
        assert unit_position(experiment, unit) == position
        assert assign_variant(experiment, unit, weights, names) == variant


def test_the_vectors_cover_every_branch() -> None:
    # Not every unit in the first variant: the table shows the running totals at work.
    assert {v for _, _, v in EXPECTED} >= {"control", "B", "C"}


def test_python_snippet() -> None:
    where = importlib.util.spec_from_file_location("assign_sample", SAMPLES / "assign.py")
    assert where is not None and where.loader is not None
    sample = importlib.util.module_from_spec(where)
    where.loader.exec_module(sample)
    for (experiment, unit, variants), (_, position, variant) in zip(VECTORS, EXPECTED, strict=True):
        assert sample.position(experiment, unit) == position
        assert sample.assign(experiment, unit, variants) == variant


def test_javascript_snippet() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        f"import {{ assign, position }} from {json.dumps((SAMPLES / 'assign.mjs').as_uri())};\n"
        "const vectors = JSON.parse(process.argv[1]);\n"
        "const out = [];\n"
        "for (const [e, u, v] of vectors) out.push([await position(e, u), await assign(e, u, v)]);\n"
        "console.log(JSON.stringify(out));\n"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(VECTORS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(done.stdout)
    assert got == [[position, variant] for _, position, variant in EXPECTED]


def readme_vectors() -> list[list[str]]:
    """The rows of the README's test-vector table (cells without backticks)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("| experiment | unit | variants (weight) |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("`") for c in line.strip("|").split("|")])
    return rows


def test_readme_table() -> None:
    rows = readme_vectors()
    assert len(rows) == len(VECTORS)
    for row, (experiment, unit, variants), (head, position, variant) in zip(
        rows, VECTORS, EXPECTED, strict=True
    ):
        listed = [re.fullmatch(r"(.+) (\S+)", part) for part in row[2].split(", ")]
        assert [(m.group(1), float(m.group(2))) for m in listed if m] == variants
        assert row == [str(experiment), unit, row[2], head, repr(position), variant]
