"""How people get in: no gate, the shared password, or sign-in with an identity provider (OIDC).

The password comes from the environment (`CHANGEGUIDE_APP__PASSWORD`) or Streamlit secrets
(`password` in .streamlit/secrets.toml); it is compared in constant time and never shown or logged.

Sign-in uses Streamlit's own OpenID Connect support (`st.login`, with Authlib), which reads its
configuration only from an `[auth]` table in Streamlit's secrets. A deployment either writes that
table by hand (.streamlit/secrets.toml) or sets `CHANGEGUIDE_APP__OIDC__*`; then
`scripts/run_app.sh` writes the table with `write_streamlit_secrets` into the data folder (mode
600) and points Streamlit at it. See docs/app.md, "Sign-in".
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.app.roles import SignIn
from rag.config import Settings
from rag.errors import ConfigError

STREAMLIT_DIR = ".streamlit"  # under settings.app.data_dir; mode 700
SECRETS_FILE = "secrets.toml"  # the generated [auth] table; mode 600
COOKIE_SECRET_FILE = "cookie-secret"  # made once, so restarts keep people signed in; mode 600
CALLBACK_PATH = "/oauth2callback"  # Streamlit's fixed callback route
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
COOKIE_SECRET_BYTES = 32  # 256 bits; Streamlit warns below 14 bytes


def expected_password(settings: Settings, secret: object = None) -> str | None:
    """The password the app requires, or None when the app is open.

    Args:
        settings: `settings.app.password` wins when set.
        secret: the value of `st.secrets["password"]`, if any.
    """
    if settings.app.password is not None and settings.app.password.get_secret_value():
        return settings.app.password.get_secret_value()
    if isinstance(secret, str) and secret:
        return secret
    return None


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so response times do not leak how much of a guess was right."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def sign_in_mode(settings: Settings, auth_secrets: object = None, password_secret: object = None) -> SignIn:
    """Which gate the app shows. An identity provider wins over the password (it replaces it).

    Args:
        auth_secrets: the `[auth]` table of Streamlit's secrets, if any.
        password_secret: `st.secrets["password"]`, if any.

    Raises:
        ConfigError: sign-in is configured in the environment but Streamlit was started without the
            secrets scripts/run_app.sh writes (the app would otherwise be open to everyone).
    """
    if isinstance(auth_secrets, Mapping) and auth_secrets:
        return "oidc"
    if settings.app.oidc.enabled:
        raise ConfigError(
            "Sign-in is configured (CHANGEGUIDE_APP__OIDC__*), but Streamlit has no [auth] secrets: "
            "start the app with `make run` (scripts/run_app.sh writes them), or put an [auth] table "
            "in .streamlit/secrets.toml (docs/app.md, Sign-in)."
        )
    return "password" if expected_password(settings, password_secret) else "open"


def providers(auth_secrets: Mapping[str, Any]) -> list[str]:
    """The provider names `st.login` accepts for this `[auth]` table: the named `[auth.NAME]`
    tables, else "default" for a table that holds the provider's settings itself."""
    named = [k for k, v in auth_secrets.items() if isinstance(v, Mapping) and "client_id" in v]
    return named or ["default"]


def redirect_uri(settings: Settings) -> str:
    """The callback address the identity provider sends people back to.

    Raises:
        ConfigError: not set and the app serves beyond loopback, or not an http(s) URL ending in
            /oauth2callback.
    """
    uri = settings.app.oidc.redirect_uri
    if uri is None:
        host = settings.app.address
        if host not in LOOPBACK:
            raise ConfigError(
                "Set CHANGEGUIDE_APP__OIDC__REDIRECT_URI to the address people open followed by "
                f"{CALLBACK_PATH} (e.g. https://changeguide.example.nhs.uk{CALLBACK_PATH}), and register "
                "the same address with the identity provider."
            )
        uri = f"http://{'[::1]' if host == '::1' else host}:{settings.app.port}{CALLBACK_PATH}"
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path.endswith(CALLBACK_PATH):
        raise ConfigError(
            f"CHANGEGUIDE_APP__OIDC__REDIRECT_URI must be an http(s) address ending in {CALLBACK_PATH}, "
            f"e.g. https://changeguide.example.nhs.uk{CALLBACK_PATH}; it is {uri!r}."
        )
    return uri


def streamlit_dir(settings: Settings) -> Path:
    return Path(settings.app.data_dir) / STREAMLIT_DIR


def cookie_secret(settings: Settings) -> str:
    """`CHANGEGUIDE_APP__OIDC__COOKIE_SECRET`, else a random secret made once in the data folder."""
    if settings.app.oidc.cookie_secret is not None and settings.app.oidc.cookie_secret.get_secret_value():
        return settings.app.oidc.cookie_secret.get_secret_value()
    path = _private_dir(streamlit_dir(settings)) / COOKIE_SECRET_FILE
    if not path.exists():
        _create_secret(path)
    value = path.read_text(encoding="ascii").strip()
    if not value:
        raise ConfigError(f"{path} is empty: delete it and start again (a new secret signs everyone out).")
    return value


def auth_table(settings: Settings) -> dict[str, str]:
    """The `[auth]` table Streamlit needs, from the settings (which must have sign-in enabled)."""
    oidc = settings.app.oidc
    if not oidc.enabled or oidc.client_secret is None:
        raise ConfigError(
            "Sign-in needs CHANGEGUIDE_APP__OIDC__CLIENT_ID, __CLIENT_SECRET and __SERVER_METADATA_URL."
        )
    return {
        "redirect_uri": redirect_uri(settings),
        "cookie_secret": cookie_secret(settings),
        "client_id": str(oidc.client_id),
        "client_secret": oidc.client_secret.get_secret_value(),
        "server_metadata_url": str(oidc.server_metadata_url),
    }


def write_streamlit_secrets(settings: Settings) -> Path | None:
    """Write the `[auth]` table to `<data_dir>/.streamlit/secrets.toml` (mode 600) when sign-in is
    enabled, else delete a file left by an earlier start; returns the path written, or None."""
    path = streamlit_dir(settings) / SECRETS_FILE
    if not settings.app.oidc.enabled:
        path.unlink(missing_ok=True)
        return None
    lines = [
        "# Written by scripts/run_app.sh from the CHANGEGUIDE_APP__OIDC__* settings at every start:",
        "# change those, not this file. It holds secrets: keep it mode 600.",
        "[auth]",
        # JSON strings (ASCII-escaped) are valid TOML basic strings.
        *(f"{key} = {json.dumps(value)}" for key, value in auth_table(settings).items()),
    ]
    _write_private(path, "\n".join(lines) + "\n")
    return path


def _private_dir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _create_secret(path: Path) -> None:
    """Make the cookie secret unless another process just did: app processes started together
    must end up with the same one. A hard link is atomic and fails if the name exists."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(COOKIE_SECRET_BYTES) + "\n")
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won; use its secret
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    """Write `text` atomically to a file only its owner can read (mode 600 before any byte lands)."""
    folder = _private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}-")  # mkstemp creates it mode 600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
