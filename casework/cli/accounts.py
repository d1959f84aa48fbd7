"""`casework users add|passwd|disable|enable|roles` and `casework tokens create|list|revoke`.

These run on a server of the deployment (they need its database), so the operator who
runs them already holds its credentials; `--as` names the administrator on whose
authority a change is made, checked against the directory, and the change is logged.
The one exception is the first administrator of an empty directory (`users add` without
`--as`), which is how a production stack gets its first account.
"""

from __future__ import annotations

import sys
from typing import Any

import structlog
import typer
from rich.markup import escape

from casework.cli import (
    BARE_HELP,
    JsonOpt,
    app,
    emit_json,
    engine,
    fail,
    handled,
    local_time,
    out,
    users_app,
)
from casework.cli.render import Col, listing
from casework.domain.org import Role

log = structlog.get_logger("casework.accounts")

tokens_app = typer.Typer(help="API 令牌 (personal access tokens for the HTTP API).", **BARE_HELP)
app.add_typer(tokens_app, name="tokens")

AdminOpt = typer.Option(..., "--as", help="The administrator making the change.")
PasswordStdinOpt = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input."
)


def _directory() -> Any:
    from casework.store.directory import Directory

    return Directory(engine())


def _admin(directory: Any, as_user: str) -> Any:
    user = directory.active(as_user)
    if Role.ADMIN not in user.roles:
        fail(f"refused: role_not_held: {as_user} is not an administrator (admin)")
    return user


def _read_password(from_stdin: bool) -> str:
    from casework.auth.passwords import WeakPassword, check_policy

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("密码 (password)", hide_input=True, confirmation_prompt=True)
    else:
        fail("field --password-stdin: no terminal to ask for the password; pipe it in")
    try:
        return check_policy(password)
    except WeakPassword as e:
        fail(f"field password: {e}")


def _roles(values: list[str]) -> list[Role]:
    roles = []
    for value in values:
        try:
            roles.append(Role(value))
        except ValueError:
            fail(
                f"field --role: unknown role {value!r}; one of: {', '.join(r.value for r in Role)}"
            )
    if not roles:
        fail("field --role: give at least one --role")
    return roles


@users_app.command("add")
@handled
def users_add(
    user_id: str = typer.Argument(..., help="The new user's id, e.g. chongchuan.officer3."),
    name: str = typer.Option(..., "--name", help="Full name as shown to colleagues."),
    role: list[str] = typer.Option([], "--role", help="A role (repeat for several)."),
    district: str = typer.Option(..., "--district", help="A district, or 市总工会 (the city)."),
    as_user: str | None = typer.Option(
        None, "--as", help="The administrator (not needed for the first one)."
    ),
    password_stdin: bool = PasswordStdinOpt,
    no_password: bool = typer.Option(
        False, "--no-password", help="Signs in through OIDC or the trusted proxy only."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Add a user with a password (asked for, or --password-stdin)."""
    import re

    from casework.auth.passwords import hash_password
    from casework.domain.text import check_text
    from casework.store.directory import USER_ID_PATTERN, User, check_district

    directory = _directory()
    roles = _roles(role)
    if as_user is None:
        if any(Role.ADMIN in u.roles and not u.disabled for u in directory.list()):
            fail("field --as: an administrator must add users (the directory has one)")
        if Role.ADMIN not in roles:
            fail("field --role: the first user of an empty directory must be an admin")
        by = "(first administrator)"
    else:
        by = _admin(directory, as_user).id
    if not re.match(USER_ID_PATTERN, user_id):
        fail(f"field user_id: {USER_ID_PATTERN} (lower-case letters, digits, . _ -)")
    try:
        check_district(district)
    except ValueError as e:
        fail(f"field --district: {e}")
    try:
        check_text(name, line_breaks=False)
    except ValueError as e:
        fail(f"field --name: {e}")
    if not name.strip() or len(name.strip()) > 50:
        fail("field --name: 1 to 50 characters")
    user = User(id=user_id, name=name.strip(), roles=roles, district=district)
    password_hash = None if no_password else hash_password(_read_password(password_stdin))
    try:
        added = directory.add(user, password_hash)
    except ValueError as e:
        fail(f"field user_id: {e}")
    log.info("users.added", user=user_id, roles=[r.value for r in roles], by=by)
    if as_json:
        emit_json(added)
    else:
        out.print(f"[green]已添加用户 (user added):[/] {user_id} ({', '.join(roles)}, {district})")


@users_app.command("passwd")
@handled
def users_passwd(
    user_id: str,
    as_user: str = typer.Option(..., "--as", help="An administrator, or the user themselves."),
    password_stdin: bool = PasswordStdinOpt,
) -> None:
    """Set a user's password; their browser sessions end."""
    from casework.auth.passwords import hash_password
    from casework.store.auth import Sessions

    directory = _directory()
    if as_user != user_id:
        _admin(directory, as_user)
    else:
        directory.active(as_user)
    directory.get(user_id)
    directory.set_password_hash(user_id, hash_password(_read_password(password_stdin)))
    ended = Sessions(directory.engine).end_all(user_id)
    log.info("users.password_set", user=user_id, by=as_user, sessions_ended=ended)
    out.print(f"[green]已设置密码 (password set):[/] {user_id}")


@users_app.command("disable")
@handled
def users_disable(user_id: str, as_user: str = AdminOpt) -> None:
    """Disable a user: sign-in, sessions, tokens and actions in their name stop at once."""
    from casework.store.auth import Sessions, Tokens

    directory = _directory()
    _admin(directory, as_user)
    if user_id == as_user:
        fail("field user_id: an administrator cannot disable themselves")
    directory.disable(user_id)
    ended = Sessions(directory.engine).end_all(user_id)
    Tokens(directory.engine).revoke_all(user_id)
    log.info("users.disabled", user=user_id, by=as_user, sessions_ended=ended)
    out.print(f"[green]已停用 (disabled):[/] {user_id}")


@users_app.command("enable")
@handled
def users_enable(user_id: str, as_user: str = AdminOpt) -> None:
    """Enable a disabled user again (their old tokens stay revoked)."""
    directory = _directory()
    _admin(directory, as_user)
    directory.enable(user_id)
    log.info("users.enabled", user=user_id, by=as_user)
    out.print(f"[green]已启用 (enabled):[/] {user_id}")


@users_app.command("roles")
@handled
def users_roles(
    user_id: str,
    role: list[str] = typer.Option([], "--role", help="The user's roles from now on (repeat)."),
    district: str | None = typer.Option(None, "--district", help="A new jurisdiction."),
    as_user: str = AdminOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Replace a user's roles (and jurisdiction)."""
    directory = _directory()
    _admin(directory, as_user)
    roles = _roles(role)
    try:
        user = directory.set_roles(user_id, roles, district)
    except ValueError as e:
        fail(f"field --district: {e}")
    log.info("users.roles_set", user=user_id, roles=[r.value for r in roles], by=as_user)
    if as_json:
        emit_json(user)
    else:
        out.print(f"[green]角色已更新 (roles set):[/] {user_id}: {', '.join(user.roles)}")


# -- tokens -------------------------------------------------------------------------------


@tokens_app.command("create")
@handled
def tokens_create(
    as_user: str = typer.Option(..., "--as", help="The user the token acts as."),
    name: str = typer.Option("cli", "--name", help="What the token is for."),
    days: int = typer.Option(90, "--days", min=1, max=366, help="Valid for this many days."),
    as_json: bool = JsonOpt,
) -> None:
    """Create a personal access token: `Authorization: Bearer <token>`. Shown once."""
    from casework.store.auth import Tokens

    directory = _directory()
    user = directory.active(as_user)
    token, info = Tokens(directory.engine).create(user.id, name, days)
    log.info("tokens.created", user=user.id, token_id=info.id, expires_at=info.expires_at)
    if as_json:
        emit_json({"token": token, **info.model_dump(mode="json")})
        return
    out.print(f"令牌 (token), 仅显示一次 (shown once):\n{token}", soft_wrap=True, highlight=False)
    out.print(f"id {info.id} · 有效期至 (expires) {local_time(info.expires_at)}")


@tokens_app.command("list")
@handled
def tokens_list(
    as_user: str = typer.Option(..., "--as", help="Your user id (administrators see all)."),
    as_json: bool = JsonOpt,
) -> None:
    """List tokens (never their secrets)."""
    from casework.store.auth import Tokens

    directory = _directory()
    user = directory.active(as_user)
    tokens = Tokens(directory.engine).list(None if Role.ADMIN in user.roles else user.id)
    if as_json:
        emit_json(tokens)
        return
    listing(
        out,
        [
            Col("id", key=True),
            Col("用户 user", key=True),
            Col("名称 name"),
            Col("到期 expires"),
            Col("最近使用 last used"),
            Col("状态 state"),
        ],
        [
            [
                t.id,
                t.user_id,
                escape(t.name),
                local_time(t.expires_at),
                local_time(t.last_used_at),
                "revoked" if t.revoked_at else ("active" if t.active else "expired"),
            ]
            for t in tokens
        ],
        empty="没有令牌 (no tokens)",
    )


@tokens_app.command("revoke")
@handled
def tokens_revoke(
    token_id: str,
    as_user: str = typer.Option(..., "--as", help="The token's owner or an administrator."),
) -> None:
    """Revoke a token at once."""
    from casework.store.auth import Tokens, UnknownToken

    directory = _directory()
    user = directory.active(as_user)
    tokens = Tokens(directory.engine)
    try:
        info = tokens.get(token_id)
    except UnknownToken as e:
        fail(str(e))
    if info.user_id != user.id and Role.ADMIN not in user.roles:
        fail(f"refused: not_owner: token {token_id} is not yours")
    tokens.revoke(token_id)
    log.info("tokens.revoked", token_id=token_id, user=info.user_id, by=user.id)
    out.print(f"[green]已撤销 (revoked):[/] {token_id}")
