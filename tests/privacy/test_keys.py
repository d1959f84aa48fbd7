"""The keyring: parsing CASEWORK_ENCRYPTION_KEYS, clear errors that never show key
material, and the embedded stack's key file."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from casework.privacy.keys import KEY_FILE, Keyring, KeyringError, load_keyring
from casework.settings import Settings

K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()


def settings(tmp_path: Path, keys: str | None = None, db: str | None = None) -> Settings:
    return Settings(
        home=tmp_path,
        encryption_keys=SecretStr(keys) if keys is not None else None,
        database_url=db or f"sqlite:///{tmp_path / 'casework.db'}",
    )


def test_first_key_is_current_and_every_key_decrypts() -> None:
    ring = Keyring.parse(f"k2:{K2}, k1:{K1}")
    assert ring.current_id == "k2" and ring.current == b"2" * 32
    assert ring.ids == ["k2", "k1"]
    assert ring.key("k1") == b"1" * 32
    assert Keyring.parse(ring.serialize()).ids == ["k2", "k1"]
    # One a line, with comments, as in the key file.
    assert Keyring.parse(f"# keys\nk2:{K2}\n\nk1:{K1}\n").ids == ["k2", "k1"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no keys"),
        (K1, "not of the form id:BASE64"),
        (f"k1:{K1},k1:{K2}", "appears twice"),
        ("k1:not base64 at all!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"bad id!:{K1}", "key id 'bad id!'"),
    ],
)
def test_a_malformed_variable_is_named_and_no_key_material_shown(text: str, problem: str) -> None:
    with pytest.raises(KeyringError) as info:
        Keyring.parse(text)
    message = str(info.value)
    assert message.startswith("CASEWORK_ENCRYPTION_KEYS") and problem in message
    assert K1 not in message and K2 not in message
    assert "key material" not in repr(Keyring.parse(f"k1:{K1}"))
    assert K1 not in repr(Keyring.parse(f"k1:{K1}"))


def test_an_unknown_key_id_says_which_keys_there_are() -> None:
    with pytest.raises(KeyringError, match=r"'k0', which is not in CASEWORK_ENCRYPTION_KEYS.*k1"):
        Keyring.parse(f"k1:{K1}").key("k0")


def test_settings_take_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_ENCRYPTION_KEYS", f"k2:{K2},k1:{K1}")
    monkeypatch.setenv("CASEWORK_HOME", str(tmp_path))
    s = Settings()
    assert K2 not in repr(s) and K2 not in str(s.model_dump())  # a secret in settings too
    assert load_keyring(s).ids == ["k2", "k1"]
    assert not (tmp_path / KEY_FILE).exists()


def test_the_embedded_stack_makes_a_key_file_once_and_reuses_it(tmp_path: Path) -> None:
    first = load_keyring(settings(tmp_path))
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_keyring(settings(tmp_path))
    assert again.ids == first.ids and again.current == first.current


def test_processes_starting_together_share_one_key_file(tmp_path: Path) -> None:
    rings: list[Keyring] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        rings.append(load_keyring(settings(tmp_path)))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.current for r in rings}) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary files left


def test_other_databases_need_the_variable(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="CASEWORK_ENCRYPTION_KEYS is not set"):
        load_keyring(settings(tmp_path, db="postgresql+psycopg://db/casework"))
    assert not (tmp_path / KEY_FILE).exists()
    # A key file put there by the operator is used.
    (tmp_path / KEY_FILE).write_text(f"k1:{K1}\n")
    os.chmod(tmp_path / KEY_FILE, 0o600)
    assert load_keyring(settings(tmp_path, db="postgresql+psycopg://db/casework")).ids == ["k1"]


def test_a_broken_key_file_is_named(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("k1:????\n")
    with pytest.raises(KeyringError, match=str(tmp_path / KEY_FILE)):
        load_keyring(settings(tmp_path))
