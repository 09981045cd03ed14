"""Text columns the reader hands over dictionary-encoded (issue 16) give every page the same
answer as the same columns read as plain text: the rows of test_upload_every_page, read with
and without dictionary encoding, on the A/B, Bayesian, CUPED and DoE endpoints."""

from __future__ import annotations

import pyarrow as pa
import pytest
from flask.testing import FlaskClient

import sources.upload as upload
from tests.web.test_upload_every_page import ENDPOINTS, PLAIN, _parse, _post


def test_the_reader_encodes_the_labels_by_default() -> None:
    schema = upload.read_upload(PLAIN).arrow.schema
    assert pa.types.is_dictionary(schema.field("variant").type), schema
    assert pa.types.is_dictionary(schema.field("segment").type), schema


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_dictionary_and_plain_text_give_the_same_answer(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    encoded = _post(client, endpoint, PLAIN)
    assert encoded.status_code == 200, encoded.json
    monkeypatch.setattr(upload, "DICT_MAX_LABELS", 0)  # every text column plain
    assert upload.read_upload(PLAIN).arrow.schema.field("variant").type == pa.string()
    plain = _post(client, endpoint, PLAIN)
    assert plain.status_code == 200, plain.json
    assert _parse(endpoint, encoded.json["result"]) == _parse(endpoint, plain.json["result"])
