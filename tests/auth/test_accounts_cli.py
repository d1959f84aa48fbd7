"""`casework users add|passwd|disable|enable|roles` and `casework tokens …`: who may run
them, what they store, and that a disabled user's sign-ins and tokens stop at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from casework.auth.signin import Authenticator, SignInRefused
from casework.cli import app
from casework.store.auth import Sessions, Tokens
from casework.store.directory import Directory
from casework.store.tables import users
from tests.conftest import TEST_KEYRING

PASSWORD = "a good long password"


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


class Cli:
    def __init__(self, engine: Engine, home: Path) -> None:
        self.env = {
            "CASEWORK_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
            "CASEWORK_HOME": str(home),
        }

    def run(self, *args: str, code: int = 0, stdin: str | None = None) -> Any:
        result = CliRunner().invoke(app, list(args), env=self.env, input=stdin)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result


@pytest.fixture
def cli(sqlite_engine: Engine, tmp_path: Path) -> Cli:
    return Cli(sqlite_engine, tmp_path)


def add(
    cli: Cli,
    user: str,
    *roles: str,
    district: str = "崇川区",
    by: str | None = "root.admin",
    code: int = 0,
) -> Any:
    args = ["users", "add", user, "--name", user.split(".")[-1], "--district", district]
    for role in roles:
        args += ["--role", role]
    if by:
        args += ["--as", by]
    return cli.run(*args, "--password-stdin", stdin=PASSWORD + "\n", code=code)


def test_the_first_administrator_then_only_administrators_add_users(
    cli: Cli, sqlite_engine: Engine
) -> None:
    # An empty directory: the first user must be an administrator, and needs no --as.
    refused = add(cli, "first.officer", "district_officer", by=None, code=2)
    assert "admin" in refused.stderr
    add(cli, "root.admin", "admin", district="市总工会", by=None)
    # From now on, --as an administrator.
    refused = add(cli, "second.admin", "admin", district="市总工会", by=None, code=2)
    assert "--as" in refused.stderr
    add(cli, "chongchuan.officer9", "district_officer")
    refused = add(cli, "chongchuan.officer8", "district_officer", by="chongchuan.officer9", code=2)
    assert "role_not_held" in refused.stderr
    listed = json.loads(cli.run("users", "list", "--json").stdout)
    assert [(u["id"], u["has_password"], u["disabled"]) for u in listed] == [
        ("chongchuan.officer9", True, False),
        ("root.admin", True, False),
    ]
    with sqlite_engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in stored)
    assert Authenticator(sqlite_engine).sign_in("chongchuan.officer9", PASSWORD, None)


def test_bad_input_is_refused_naming_the_field(cli: Cli) -> None:
    add(cli, "root.admin", "admin", district="市总工会", by=None)
    assert "field user_id" in add(cli, "Bad Id", "district_officer", code=2).stderr
    assert "field --role" in add(cli, "x.y", "emperor", code=2).stderr
    assert "field --district" in add(cli, "x.y", "district_officer", district="火星", code=2).stderr
    short = cli.run(
        "users",
        "add",
        "x.z",
        "--name",
        "z",
        "--role",
        "lawyer",
        "--district",
        "崇川区",
        "--as",
        "root.admin",
        "--password-stdin",
        stdin="short\n",
        code=2,
    )
    assert "field password" in short.stderr and "short" not in short.stderr


def test_disable_ends_sessions_and_tokens_at_once(cli: Cli, sqlite_engine: Engine) -> None:
    add(cli, "root.admin", "admin", district="市总工会", by=None)
    add(cli, "chongchuan.officer9", "district_officer")
    made = json.loads(cli.run("tokens", "create", "--as", "chongchuan.officer9", "--json").stdout)
    token = made["token"]
    tokens = Tokens(sqlite_engine)
    assert tokens.resolve(token) == "chongchuan.officer9"
    session, _ = Sessions(sqlite_engine).create("chongchuan.officer9", "password")

    cli.run("users", "disable", "chongchuan.officer9", "--as", "root.admin")
    assert tokens.resolve(token) is None
    assert Sessions(sqlite_engine).resolve(session) is None
    with pytest.raises(SignInRefused):
        Authenticator(sqlite_engine).sign_in("chongchuan.officer9", PASSWORD, None)
    # Acting from the CLI in a disabled user's name is refused too.
    refused = cli.run("tokens", "create", "--as", "chongchuan.officer9", code=2)
    assert "disabled" in refused.stderr

    cli.run("users", "enable", "chongchuan.officer9", "--as", "root.admin")
    assert tokens.resolve(token) is None  # revoked tokens stay revoked
    assert Authenticator(sqlite_engine).sign_in("chongchuan.officer9", PASSWORD, None)


def test_passwd_roles_and_token_revocation(cli: Cli, sqlite_engine: Engine) -> None:
    add(cli, "root.admin", "admin", district="市总工会", by=None)
    add(cli, "chongchuan.officer9", "district_officer")
    session, _ = Sessions(sqlite_engine).create("chongchuan.officer9", "password")
    cli.run(
        "users",
        "passwd",
        "chongchuan.officer9",
        "--as",
        "root.admin",
        "--password-stdin",
        stdin="another long password\n",
    )
    assert Sessions(sqlite_engine).resolve(session) is None  # a new password ends sessions
    assert Authenticator(sqlite_engine).sign_in(
        "chongchuan.officer9", "another long password", None
    )
    # Someone else's password only by an administrator.
    add(cli, "chongchuan.officer8", "district_officer")
    cli.run(
        "users",
        "passwd",
        "chongchuan.officer8",
        "--as",
        "chongchuan.officer9",
        "--password-stdin",
        stdin="yet another password\n",
        code=2,
    )

    roles = json.loads(
        cli.run(
            "users",
            "roles",
            "chongchuan.officer9",
            "--role",
            "supervisor",
            "--district",
            "通州区",
            "--as",
            "root.admin",
            "--json",
        ).stdout
    )
    assert (roles["roles"], roles["district"]) == (["supervisor"], "通州区")
    assert Directory(sqlite_engine).get("chongchuan.officer9").district == "通州区"

    made = json.loads(cli.run("tokens", "create", "--as", "chongchuan.officer9", "--json").stdout)
    listed = json.loads(cli.run("tokens", "list", "--as", "chongchuan.officer9", "--json").stdout)
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    cli.run("tokens", "revoke", made["id"], "--as", "chongchuan.officer8", code=2)  # not theirs
    cli.run("tokens", "revoke", made["id"], "--as", "chongchuan.officer9")
    assert Tokens(sqlite_engine).resolve(made["token"]) is None
