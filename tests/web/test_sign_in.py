"""Signing in, and forms that do not come from our own pages, in a real browser (Debian's
Chromium driven by Playwright) against the real app on a real worker and store."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator, Callable

import pytest

from casework.auth.edge import SESSION_COOKIE
from tests.web.conftest import _free_port, readme_screenshot, sign_in
from tests.workflows.conftest import Harness


async def test_signing_in_and_a_wrong_password(
    site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    await page.goto(f"{site}/inbox")
    await page.wait_for_url(f"{site}/login")  # anonymous: to the sign-in page
    await readme_screenshot(page, "sign-in")
    await page.fill("#user_id", "chongchuan.grassroots2")
    await page.fill("#password", "not the password")
    await page.click("#sign-in")
    assert "用户名或密码错误" in await page.locator("#login-error").inner_text()
    assert page.url == f"{site}/login"
    assert await page.locator("#user_id").input_value() == "chongchuan.grassroots2"
    assert SESSION_COOKIE not in {c["name"] for c in await page.context.cookies()}
    await page.goto(f"{site}/inbox")
    await page.wait_for_url(f"{site}/login")  # still nobody

    await sign_in(page, site, "chongchuan.grassroots2")
    assert SESSION_COOKIE in {c["name"] for c in await page.context.cookies()}
    assert "崇川区基层干事二" in await page.locator("header").inner_text()


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[str, Callable[[str], None]]]:
    """Another site: a page served from another port of 127.0.0.1 (another origin, the
    same site for cookies, so the session cookie goes along), whose body the test sets."""
    body = {"html": ""}

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        content = body["html"].encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            + f"Content-Length: {len(content)}\r\nConnection: close\r\n\r\n".encode()
            + content
        )
        await writer.drain()
        writer.close()

    port = _free_port()
    server = await asyncio.start_server(answer, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}", lambda text: body.update(html=text)
    server.close()
    await server.wait_closed()


def auto_submit(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return (
        f'<!doctype html><meta charset="utf-8"><form method="post" action="{action}">{inputs}'
        "</form><script>document.forms[0].submit()</script>"
    )


async def test_forms_with_a_wrong_token_or_from_another_site_are_refused(
    harness: Harness,
    site: str,
    page,  # type: ignore[no-untyped-def]
    elsewhere: tuple[str, Callable[[str], None]],
) -> None:
    case_id = (await harness.open()).case_id
    before = harness.store.read(case_id)
    await sign_in(page, site, "chongchuan.grassroots2")
    await page.goto(f"{site}/cases/{case_id}")
    token = await page.locator("#act-form input[name=csrf_token]").input_value()

    # Our own page, but the form's token is not the session's.
    await page.evaluate(
        "document.querySelector('#act-form [name=csrf_token]').value = 'x'.repeat(43)"
    )
    await page.select_option("#action", "comment")
    await page.fill("#comment", "令牌不对的表单")
    async with page.expect_response(f"{site}/cases/{case_id}/act") as sent:
        await page.click("#submit")
    assert (await sent.value).status == 403
    assert "表单令牌无效" in await page.locator("#error").inner_text()

    # Another origin's page posts the form by itself, with the signed-in officer's
    # cookie and even the right token (as if it had leaked): refused for its origin.
    other, serve = elsewhere
    serve(
        auto_submit(
            f"{site}/cases/{case_id}/act",
            {"csrf_token": token, "action": "comment", "comment": "来自别处的表单"},
        )
    )
    async with page.expect_response(f"{site}/cases/{case_id}/act") as sent:
        await page.goto(f"{other}/prize.html")
    assert (await sent.value).status == 403
    await page.wait_for_url(f"{site}/cases/{case_id}/act")
    assert "表单令牌无效" in await page.locator("#error").inner_text()

    # Nothing was recorded; the same form from our own page is.
    assert harness.store.read(case_id) == before
    await page.goto(f"{site}/cases/{case_id}")
    await page.select_option("#action", "comment")
    await page.fill("#comment", "本站的表单")
    await page.click("#submit")
    assert "已办理" in await page.locator("#notice").inner_text()
    [commented] = [e for e in harness.store.read(case_id) if e.type == "case.commented"]
    assert commented.payload["comment"] == "本站的表单"
