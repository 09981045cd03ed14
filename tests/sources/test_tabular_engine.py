"""sources.tabular on DuckDB: an upload's per-variant statistics, warnings, duplicate-id checks
and distribution from the engine path (Arrow → DuckDB) equal those of the pandas path, which
stays for the files the engine path hands back (text metrics, values to name by row)."""

from __future__ import annotations

import numpy as np
import pytest

from sources import tabular
from sources.tabular import summarize, table_distribution
from sources.upload import read_upload

CASES = {
    "plain": "user_id,variant,converted,revenue\n"
    + "".join(f"u{i},{'AB'[i % 2]},{i % 3 == 0:d},{i * 1.5}\n" for i in range(40)),
    "blanks_and_padding": "user_id,variant,converted,revenue\n"
    "u1, A ,1,2.5\nu2,B,0,\nu3,,1,3\nu4,A,,4\nu5,B ,1,1e3\nu6,NA,0,1\nu7,A,0,0\nu8,B,1,2\n",
    "repeated_and_crossed_ids": "user_id,variant,converted,revenue\n"
    "7,A,1,1\n8,B,0,2\n7,A,0,3\n9,B,1,4\n8,A,1,5\n,B,0,6\n9,,1,7\n10,B,1,8\n10,A,0,9\n",
    "repeated_ids_blank_labels": "user_id,variant,converted,revenue\n"
    "a,A,1,1\nb,B,0,2\na,,0,3\nb,B,1,4\nc,A,1,5\nc,B,0,6\n",
}


def _pandas_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "_summarize_in_engine", lambda *a, **k: None)
    monkeypatch.setattr(tabular, "_arrow_codes_and_values", lambda *a, **k: None)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(("metric", "kind"), [("converted", "binary"), ("revenue", "continuous")])
@pytest.mark.parametrize("user_id", [None, "user_id"])
def test_engine_and_pandas_paths_agree(
    monkeypatch: pytest.MonkeyPatch, name: str, metric: str, kind: str, user_id: str | None
) -> None:
    args = {"variant": "variant", "metric": metric, "kind": kind, "user_id": user_id}
    up = read_upload(CASES[name])
    assert tabular._summarize_in_engine(read_upload(CASES[name]), **args) is not None
    engine = summarize(up, **args)  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        _pandas_path(m)
        reference = summarize(read_upload(CASES[name]), **args)  # type: ignore[arg-type]
    assert engine.warnings == reference.warnings
    assert (engine.n_rows, engine.excluded_rows, engine.duplicate_ids) == (
        reference.n_rows,
        reference.excluded_rows,
        reference.duplicate_ids,
    )
    assert [v.name for v in engine.variants] == [v.name for v in reference.variants]
    for ours, theirs in zip(engine.variants, reference.variants, strict=True):
        for a, b in zip(_numbers(ours), _numbers(theirs), strict=True):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12)  # sums in another order


def _numbers(stats: object) -> list[float]:
    return [
        float(getattr(stats, f))
        for f in ("n", "users", "conversions", "mean", "sd")
        if hasattr(stats, f)
    ]


def test_the_crossed_and_repeated_ids_are_counted() -> None:
    s = summarize(
        read_upload(CASES["repeated_and_crossed_ids"]),
        variant="variant",
        metric="converted",
        kind="binary",
        user_id="user_id",
    )
    assert s.duplicate_ids == 4  # 7, 8, 9 and 10 each repeat once
    assert "first: 7 on row 3" in s.warnings[-2].message
    assert s.warnings[-1].message.startswith("2 user ids appear in more than one variant")


@pytest.mark.parametrize(
    ("csv", "problem"),
    [
        ("variant,y\nA,1\nB,2\nA,inf\n", "is not a finite number"),
        ("variant,y\nA,1\nB,2\nA,1e200\n", "is too large"),
        ("variant,y\nA,1\nB,2\nA,x\n", "is not a number"),
    ],
)
def test_bad_values_still_name_their_row(csv: str, problem: str) -> None:
    with pytest.raises(tabular.CSVError, match=f"row 3, column 'y': .*{problem}") as err:
        summarize(read_upload(csv), variant="variant", metric="y", kind="continuous")
    assert (err.value.field, err.value.row) == ("y", 3)


def test_distribution_engine_and_pandas_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    csv = CASES["blanks_and_padding"]
    engine = table_distribution(read_upload(csv), variant="variant", metric="revenue", bins=4)
    with monkeypatch.context() as m:
        _pandas_path(m)
        reference = table_distribution(
            read_upload(csv), variant="variant", metric="revenue", bins=4
        )
    assert engine == reference
    assert np.isfinite(engine.edges).all()
