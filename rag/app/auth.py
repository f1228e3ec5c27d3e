"""The optional password that gates the whole app for shared deployments.

The password comes from the environment (`CHANGEGUIDE_APP__PASSWORD`) or Streamlit secrets
(`password` in .streamlit/secrets.toml); it is compared in constant time and never shown or logged.
"""

from __future__ import annotations

import hmac

from rag.config import Settings


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
