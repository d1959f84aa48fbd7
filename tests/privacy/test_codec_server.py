"""`casework codec-server`: decodes for Temporal's Web UI and CLI, admits the UI's origin,
and can require a token."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from casework.privacy.codec_server import create_codec_app
from tests.conftest import DATA_CONVERTER, TEST_KEYRING

UI = "http://localhost:8233"


async def encoded(*values: Any) -> dict[str, Any]:
    payloads = await DATA_CONVERTER.encode(list(values))
    return json_format.MessageToDict(Payloads(payloads=payloads))


async def test_decode_gives_the_ui_what_the_worker_sees() -> None:
    client = TestClient(create_codec_app(TEST_KEYRING, [UI]))
    body = await encoded({"applicant_name": "王小明"}, "第二个")
    assert "王小明" not in str(body)
    r = client.post("/decode", json=body, headers={"Origin": UI, "X-Namespace": "default"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == UI
    decoded = json_format.ParseDict(r.json(), Payloads())
    assert DATA_CONVERTER.payload_converter.from_payloads(list(decoded.payloads)) == [
        {"applicant_name": "王小明"},
        "第二个",
    ]
    # And /encode is its inverse.
    again = client.post("/encode", json=r.json())
    assert again.status_code == 200
    reencoded = json_format.ParseDict(again.json(), Payloads())
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in reencoded.payloads)


async def test_the_ui_origin_is_admitted_and_others_are_not() -> None:
    client = TestClient(create_codec_app(TEST_KEYRING, [UI]))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    ok = client.options("/decode", headers={"Origin": UI, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == UI
    other = client.options("/decode", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers


async def test_a_token_is_required_when_configured() -> None:
    client = TestClient(create_codec_app(TEST_KEYRING, [UI], token="s3cret"))
    body = await encoded("x")
    assert client.post("/decode", json=body).status_code == 401
    assert client.post("/decode", json=body, headers={"Authorization": "wrong"}).status_code == 401
    assert client.post("/decode", json=body, headers={"Authorization": "s3cret"}).status_code == 200
    bearer = {"Authorization": "Bearer s3cret"}
    assert client.post("/decode", json=body, headers=bearer).status_code == 200


async def test_the_web_ui_carries_the_token_in_its_endpoint_path() -> None:
    """The UI sends no header of ours: its endpoint is `.../<token>`, it posts to
    `.../<token>/decode`. Any other first segment is refused, and without a token
    configured there is no such path."""
    client = TestClient(create_codec_app(TEST_KEYRING, [UI], token="s3cret"))
    body = await encoded("x")
    ok = client.post("/s3cret/decode", json=body, headers={"Origin": UI})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == UI
    assert client.post("/s3cret/encode", json=ok.json()).status_code == 200
    for wrong in ("/wrong/decode", "/s3cre/decode", "/s3cret0/decode", "/default/encode"):
        assert client.post(wrong, json=body).status_code == 401, wrong
    # A header cannot stand in for the path's token, nor the path's for a wrong header.
    assert (
        client.post("/x/decode", json=body, headers={"Authorization": "s3cret"}).status_code == 401
    )
    open_server = TestClient(create_codec_app(TEST_KEYRING, [UI]))
    assert open_server.post("/s3cret/decode", json=body).status_code == 404


async def test_bad_input_and_unknown_keys_are_clear_errors() -> None:
    client = TestClient(create_codec_app(TEST_KEYRING, [UI]))
    assert client.post("/decode", content=b"not json").status_code == 400
    foreign = {
        "payloads": [
            {
                "metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-key-id": "azk="},
                "data": "AAAA",
            }
        ]
    }
    r = client.post("/decode", json=foreign)
    assert r.status_code == 422 and "'k9'" in r.json()["detail"]
