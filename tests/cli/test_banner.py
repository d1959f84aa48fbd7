"""`make run`'s banner names the web sign-in page beside the API and the Temporal UI,
and every line fits an 80-column terminal."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rich.cells import cell_len
from rich.text import Text

from casework.config import DEMO_CONFIG
from casework.settings import Settings
from casework.stack import _banner, with_demo_config


def test_the_banner_names_the_sign_in_page_and_fits_80_columns() -> None:
    settings = with_demo_config(Settings())
    stack: Any = SimpleNamespace(
        settings=settings, server=SimpleNamespace(ui_url="http://127.0.0.1:8233")
    )
    text = Text.from_markup(_banner(stack, "http://127.0.0.1:8000")).plain
    assert settings.config == DEMO_CONFIG
    assert "http://127.0.0.1:8000/login" in text and "http://127.0.0.1:8000/docs" in text
    assert "http://127.0.0.1:8233" in text and "casework-demo" in text
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in text
    wide = [line for line in text.splitlines() if cell_len(line) > 80]
    assert wide == []
