"""A codec server (`casework codec-server`): lets Temporal's Web UI and `temporal` CLI
show casework's encrypted payloads decoded, without the keys leaving this process.

POST /decode and /encode take and return `temporal.api.common.v1.Payloads` as proto
JSON, after `temporalio/samples-python` encryption/codec_server.py. CORS admits the
Web UI's origin so that the browser may call it. Decoding removes only the payload
layer: personal fields stay encrypted with their case keys, so the UI shows masked
forms and ciphertext, never an ID number in clear.

With a token, a request carries it in its Authorization header (the `temporal` CLI's
`--codec-auth`), or as the first segment of its path, `/<token>/decode`: the Web UI
cannot send a header of our choosing (its codec settings offer only its own OIDC access
token and cookies), so its codec endpoint is configured on the UI server as
`https://.../codec/<token>` (deploy/compose.yaml), a URL only operators' browsers get.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from casework.privacy.codec import EncryptionCodec
from casework.privacy.keys import Keyring, KeyringError


def create_codec_app(keyring: Keyring, origins: Sequence[str], token: str | None = None) -> FastAPI:
    """`origins`: where the Web UI is served from; `token`: if given, required in the
    Authorization header (as is, or after `Bearer `)."""
    app = FastAPI(title="casework codec server", docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )
    codec = EncryptionCodec(keyring)

    def authorised(request: Request, in_path: str | None) -> bool:
        if token is None:
            return True
        given = (
            in_path
            if in_path is not None
            else request.headers.get("authorization", "").removeprefix("Bearer ")
        )
        return secrets.compare_digest(given.encode(), token.encode())

    async def apply(
        request: Request, fn: Callable[[Payload], Payload], in_path: str | None = None
    ) -> Response:
        if not authorised(request, in_path):
            raise HTTPException(401, "unauthorised: Authorization header required")
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError as exc:
            raise HTTPException(400, f"expected Payloads as proto JSON: {exc}") from None
        try:
            result = Payloads(payloads=[fn(p) for p in payloads.payloads])
        except KeyringError as exc:
            raise HTTPException(422, str(exc)) from None
        return Response(json_format.MessageToJson(result), media_type="application/json")

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await apply(request, codec.decode_one)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await apply(request, codec.encode_one)

    if token is not None:  # the Web UI's way to carry it: /<token>/decode

        @app.post("/{in_path}/decode")
        async def decode_with_path_token(in_path: str, request: Request) -> Response:
            return await apply(request, codec.decode_one, in_path)

        @app.post("/{in_path}/encode")
        async def encode_with_path_token(in_path: str, request: Request) -> Response:
            return await apply(request, codec.encode_one, in_path)

    return app
