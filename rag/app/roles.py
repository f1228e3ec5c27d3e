"""Who may do what: readers ask; librarians also add and remove documents and run evaluations.

One decision, made here and nowhere else, from the app settings, how the app is signed in to and
(with an identity provider) the claims of the person's identity token. No Streamlit in this module:
the pages hand it `st.user`, and the logic they call checks the result with `require_librarian`,
so a reader who crafts a request is refused by the code that would write, not only by a hidden button.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from rag.config import AppSettings
from rag.errors import NotPermittedError

SignIn = Literal["open", "password", "oidc"]  # no gate, the shared password, an identity provider

LIBRARIAN_CAN = "add and remove documents, keep question sets, export feedback and run evaluations"
HOUR_S = 3600


class Role(StrEnum):
    READER = "reader"
    LIBRARIAN = "librarian"


@dataclass(frozen=True)
class Visitor:
    """The person using this session: their role, why they have it, and what to call them."""

    role: Role
    sign_in: SignIn
    reason: str  # one line a person can read: why this role
    name: str = ""  # from the identity token; empty without an identity provider

    @property
    def is_librarian(self) -> bool:
        return self.role is Role.LIBRARIAN


def decide(
    app: AppSettings, sign_in: SignIn, claims: Mapping[str, Any] | None = None, now: float | None = None
) -> Visitor | None:
    """The visitor's role, or None when an identity provider is in use and nobody (current) is signed in.

    Without an identity provider everyone is a librarian, unless `app.read_only`, when everyone is a
    reader. With one, `app.read_only` still makes everyone a reader; otherwise a person is a
    librarian when their verified e-mail is in `app.oidc.librarian_emails` or their role claim holds
    one of `app.oidc.librarian_roles`, and a reader when neither holds (so an unconfigured
    deployment gives nobody the right to change the library).
    """
    if sign_in != "oidc":
        if app.read_only:
            return Visitor(Role.READER, sign_in, "The app is read-only (CHANGEGUIDE_APP__READ_ONLY).")
        return Visitor(Role.LIBRARIAN, sign_in, "Everyone who can open this app is a librarian.")
    if not claims or not claims.get("is_logged_in") or sign_in_expired(claims, app.oidc.sign_in_hours, now):
        return None
    name = display_name(claims)
    if app.read_only:
        return Visitor(Role.READER, sign_in, "The app is read-only (CHANGEGUIDE_APP__READ_ONLY).", name)
    email = verified_email(claims)
    if email and email in {e.strip().casefold() for e in app.oidc.librarian_emails}:
        return Visitor(Role.LIBRARIAN, sign_in, "Your e-mail address is on the librarians' list.", name)
    wanted = {r.strip().casefold() for r in app.oidc.librarian_roles}
    held = {v.casefold() for v in claim_values(claims, app.oidc.role_claim)}
    if wanted & held:
        return Visitor(
            Role.LIBRARIAN, sign_in, f"Your '{app.oidc.role_claim}' include a librarian role.", name
        )
    return Visitor(Role.READER, sign_in, "Your account does not have the librarian role.", name)


def require_librarian(visitor: Visitor | None, action: str) -> None:
    """Raise unless `visitor` is a librarian.

    Raises:
        NotPermittedError: naming `action` ("run evaluations") and why the visitor cannot.
    """
    if visitor is None or not visitor.is_librarian:
        why = visitor.reason if visitor is not None else "Nobody is signed in."
        raise NotPermittedError(f"Only librarians can {action}. {why} Ask a librarian, or your IT team.")


def sign_in_expired(claims: Mapping[str, Any], hours: float, now: float | None = None) -> bool:
    """Whether the identity token is older than `hours` (by `iat`, else `auth_time`).

    A token without either time is left to Streamlit's own 30-day cookie limit.
    """
    issued = claims.get("iat", claims.get("auth_time"))
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        return False
    return (time.time() if now is None else now) - issued > hours * HOUR_S


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The string values of a claim (a list, or one string); a dotted path reaches nested claims."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The `email` claim, casefolded; None when missing or marked unverified (`email_verified` false),
    since some providers let people type any address."""
    email = claims.get("email")
    unverified = claims.get("email_verified") in (False, "false")  # some providers send a string
    if not isinstance(email, str) or not email.strip() or unverified:
        return None
    return email.strip().casefold()


def display_name(claims: Mapping[str, Any]) -> str:
    for key in ("name", "email", "preferred_username"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "signed in"
