"""The one role decision: readers ask; librarians also change the library and run evaluations."""

from __future__ import annotations

import pytest

from rag.app.roles import (
    Role,
    Visitor,
    claim_values,
    decide,
    require_librarian,
    sign_in_expired,
    verified_email,
)
from rag.config import AppSettings, OIDCSettings
from rag.errors import NotPermittedError

NOW = 1_800_000_000.0
HOUR = 3600


def app(read_only: bool = False, **oidc) -> AppSettings:
    return AppSettings(read_only=read_only, oidc=OIDCSettings(**oidc))


def signed_in(**claims) -> dict:
    return {"is_logged_in": True, "iat": NOW - 60, **claims}


@pytest.mark.parametrize("sign_in", ["open", "password"])
def test_without_an_identity_provider_everyone_is_a_librarian_unless_read_only(sign_in):
    visitor = decide(app(), sign_in)
    assert visitor is not None and visitor.role is Role.LIBRARIAN, f"{sign_in}: the existing behaviour"
    visitor = decide(app(read_only=True), sign_in)
    assert visitor is not None and visitor.role is Role.READER, "read-only makes everyone a reader"
    assert "READ_ONLY" in visitor.reason, "the reason names the setting"


def test_claims_are_ignored_without_an_identity_provider():
    claims = signed_in(roles=["Librarian"])
    visitor = decide(app(read_only=True, librarian_roles=("Librarian",)), "password", claims, NOW)
    assert visitor is not None and visitor.role is Role.READER, "st.user does not count under the password"


def test_with_an_identity_provider_nobody_signed_in_has_no_role():
    assert decide(app(), "oidc", None, NOW) is None
    assert decide(app(), "oidc", {"is_logged_in": False, "email": "a@b.org"}, NOW) is None
    assert decide(app(), "oidc", {"email": "test@example.com"}, NOW) is None, "no is_logged_in: not signed in"


def test_the_role_claim_makes_a_librarian():
    settings = app(librarian_roles=("ChangeGuide.Librarian",))
    librarian = decide(settings, "oidc", signed_in(name="Ann", roles=["Staff", "changeguide.librarian"]), NOW)
    assert librarian == Visitor(Role.LIBRARIAN, "oidc", librarian.reason, "Ann"), librarian
    reader = decide(settings, "oidc", signed_in(name="Bob", roles=["Staff"]), NOW)
    assert reader is not None and reader.role is Role.READER and reader.name == "Bob"
    assert decide(settings, "oidc", signed_in(roles="ChangeGuide.Librarian"), NOW).is_librarian, (
        "a claim holding one string counts as a list of one"
    )


def test_groups_and_nested_claims_can_be_the_role_claim():
    group = "3f1c2a9e-0000-4000-8000-00000000abcd"
    settings = app(role_claim="groups", librarian_roles=(group,))
    assert decide(settings, "oidc", signed_in(groups=[group]), NOW).is_librarian
    assert not decide(settings, "oidc", signed_in(roles=[group]), NOW).is_librarian, "only the named claim"
    nested = app(role_claim="realm_access.roles", librarian_roles=("librarian",))
    assert decide(nested, "oidc", signed_in(realm_access={"roles": ["librarian"]}), NOW).is_librarian
    assert claim_values({"a": "x"}, "a.b") == [] and claim_values({"a": [1, "y"]}, "a") == ["y"]


def test_the_email_list_makes_a_librarian_only_for_a_verified_address():
    settings = app(librarian_emails=(" Ann.Lee@Trust.NHS.uk ",))
    assert decide(settings, "oidc", signed_in(email="ann.lee@trust.nhs.uk"), NOW).is_librarian, "any case"
    assert not decide(settings, "oidc", signed_in(email="bob@trust.nhs.uk"), NOW).is_librarian
    for unverified in (False, "false"):
        visitor = decide(
            settings, "oidc", signed_in(email="ann.lee@trust.nhs.uk", email_verified=unverified), NOW
        )
        assert not visitor.is_librarian, (
            f"an address the provider marks unverified ({unverified!r}) is not trusted"
        )
    assert verified_email({"email": "  "}) is None and verified_email({}) is None


def test_an_unconfigured_provider_makes_everyone_a_reader():
    visitor = decide(app(), "oidc", signed_in(email="ann@trust.nhs.uk", roles=["Librarian"]), NOW)
    assert visitor is not None and visitor.role is Role.READER, "nobody is a librarian until one is named"


def test_read_only_wins_over_the_librarian_role():
    settings = app(read_only=True, librarian_roles=("Librarian",), librarian_emails=("ann@trust.nhs.uk",))
    visitor = decide(settings, "oidc", signed_in(email="ann@trust.nhs.uk", roles=["Librarian"]), NOW)
    assert visitor is not None and visitor.role is Role.READER and "READ_ONLY" in visitor.reason


def test_an_old_sign_in_must_be_renewed():
    settings = app(librarian_roles=("Librarian",), sign_in_hours=12)
    fresh = {"is_logged_in": True, "roles": ["Librarian"], "iat": NOW - 11 * HOUR}
    stale = fresh | {"iat": NOW - 13 * HOUR}
    assert decide(settings, "oidc", fresh, NOW).is_librarian
    assert decide(settings, "oidc", stale, NOW) is None, "roles read 13 hours ago are not trusted"
    assert sign_in_expired({"auth_time": NOW - 13 * HOUR}, 12, NOW), "auth_time when there is no iat"
    assert not sign_in_expired({"iat": "yesterday"}, 12, NOW), "no usable time: Streamlit's own limit applies"


def test_require_librarian_refuses_readers_with_the_reason():
    require_librarian(decide(app(), "open"), "run evaluations")  # a librarian passes
    reader = decide(app(read_only=True), "open")
    with pytest.raises(
        NotPermittedError, match=r"Only librarians can run evaluations\. The app is read-only"
    ):
        require_librarian(reader, "run evaluations")
    with pytest.raises(NotPermittedError, match="Nobody is signed in"):
        require_librarian(None, "add documents")
