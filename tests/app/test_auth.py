"""The password gate's settings and comparison."""

from __future__ import annotations

from pydantic import SecretStr

from rag.app.auth import expected_password, password_matches


def test_the_password_comes_from_settings_first_then_secrets(settings):
    locked = settings.model_copy(
        update={"app": settings.app.model_copy(update={"password": SecretStr("env-pw")})}
    )
    assert expected_password(locked, "secret-pw") == "env-pw"
    assert expected_password(settings, "secret-pw") == "secret-pw"
    assert expected_password(settings, None) is None and expected_password(settings, "") is None, "open app"


def test_password_matches():
    assert password_matches("correct horse", "correct horse")
    assert not password_matches("correct hors", "correct horse")
    assert not password_matches("", "x") and password_matches("é", "é"), "non-ASCII passwords work"


def test_the_password_setting_is_read_from_the_environment(monkeypatch):
    from rag.config import Settings

    monkeypatch.setenv("CHANGEGUIDE_APP__PASSWORD", "from-env")
    assert expected_password(Settings()) == "from-env"
    assert "from-env" not in repr(Settings()), "the password never shows in a repr or log"


# -- sign-in with an identity provider -------------------------------------------------------------

METADATA = "https://login.microsoftonline.com/0000-tenant/v2.0/.well-known/openid-configuration"
CLIENT_SECRET = 's3cr"et\\with-quotes'


def _oidc_settings(settings, tmp_path, **app_fields):
    from rag.config import OIDCSettings

    oidc = OIDCSettings(
        client_id="cg-client", client_secret=SecretStr(CLIENT_SECRET), server_metadata_url=METADATA
    )
    app = settings.app.model_copy(update={"oidc": oidc, "data_dir": tmp_path / "data", **app_fields})
    return settings.model_copy(update={"app": app})


def test_the_sign_in_mode(settings, tmp_path):
    import pytest

    from rag.app.auth import sign_in_mode
    from rag.errors import ConfigError

    assert sign_in_mode(settings) == "open"
    assert sign_in_mode(settings, None, "pw") == "password"
    assert sign_in_mode(settings, {"redirect_uri": "x"}, "pw") == "oidc", "the provider replaces the password"
    with pytest.raises(ConfigError, match="make run"):
        sign_in_mode(_oidc_settings(settings, tmp_path))  # configured, but Streamlit lacks the secrets


def test_half_configured_sign_in_is_refused_without_echoing_the_secret(monkeypatch):
    import pytest
    from pydantic import ValidationError

    from rag.config import Settings

    monkeypatch.setenv("CHANGEGUIDE_APP__OIDC__CLIENT_ID", "cg-client")
    monkeypatch.setenv("CHANGEGUIDE_APP__OIDC__CLIENT_SECRET", CLIENT_SECRET)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "CHANGEGUIDE_APP__OIDC__SERVER_METADATA_URL" in str(caught.value), "names what is missing"
    assert "s3cr" not in str(caught.value), "the error never shows the secret"


def test_providers_of_an_auth_table():
    from rag.app.auth import providers

    assert providers({"redirect_uri": "x", "client_id": "y"}) == ["default"]
    named = {"redirect_uri": "x", "microsoft": {"client_id": "a"}, "okta": {"client_id": "b"}, "other": {}}
    assert providers(named) == ["microsoft", "okta"]


def test_the_redirect_uri(settings, tmp_path):
    import pytest

    from rag.app.auth import redirect_uri
    from rag.errors import ConfigError

    local = _oidc_settings(settings, tmp_path)
    assert redirect_uri(local) == "http://127.0.0.1:8501/oauth2callback", "derived on loopback"
    with pytest.raises(ConfigError, match="CHANGEGUIDE_APP__OIDC__REDIRECT_URI"):
        redirect_uri(_oidc_settings(settings, tmp_path, address="0.0.0.0"))
    public = local.app.oidc.model_copy(update={"redirect_uri": "https://cg.trust.nhs.uk/oauth2callback"})
    shared = local.model_copy(
        update={"app": local.app.model_copy(update={"oidc": public, "address": "0.0.0.0"})}
    )
    assert redirect_uri(shared) == "https://cg.trust.nhs.uk/oauth2callback"
    wrong = public.model_copy(update={"redirect_uri": "https://cg.trust.nhs.uk/"})
    with pytest.raises(ConfigError, match="ending in /oauth2callback"):
        redirect_uri(local.model_copy(update={"app": local.app.model_copy(update={"oidc": wrong})}))


def test_the_generated_secrets_are_private_and_valid_toml(settings, tmp_path):
    import stat
    import tomllib

    from rag.app.auth import write_streamlit_secrets

    configured = _oidc_settings(settings, tmp_path)
    path = write_streamlit_secrets(configured)
    assert path == tmp_path / "data" / ".streamlit" / "secrets.toml"
    for item in (path, path.parent, path.parent / "cookie-secret"):
        mode = stat.S_IMODE(item.stat().st_mode)
        assert mode & 0o077 == 0, f"{item.name} is readable by others: {oct(mode)}"
    auth = tomllib.loads(path.read_text())["auth"]
    assert auth["client_secret"] == CLIENT_SECRET and auth["client_id"] == "cg-client", auth.keys()
    assert auth["server_metadata_url"] == METADATA
    assert auth["redirect_uri"] == "http://127.0.0.1:8501/oauth2callback"
    assert len(auth["cookie_secret"]) >= 40, "a strong random cookie secret"

    again = tomllib.loads(write_streamlit_secrets(configured).read_text())["auth"]
    assert again["cookie_secret"] == auth["cookie_secret"], "kept across restarts: people stay signed in"
    assert (
        write_streamlit_secrets(
            settings.model_copy(
                update={"app": configured.app.model_copy(update={"oidc": type(configured.app.oidc)()})}
            )
        )
        is None
    )
    assert not path.exists(), "turning sign-in off deletes the generated secrets"


def test_a_configured_cookie_secret_is_used(settings, tmp_path):
    from rag.app.auth import auth_table

    configured = _oidc_settings(settings, tmp_path)
    oidc = configured.app.oidc.model_copy(
        update={"cookie_secret": SecretStr("from-the-environment-0123456789")}
    )
    table = auth_table(
        configured.model_copy(update={"app": configured.app.model_copy(update={"oidc": oidc})})
    )
    assert table["cookie_secret"] == "from-the-environment-0123456789"
    assert not (tmp_path / "data" / ".streamlit" / "cookie-secret").exists(), "nothing generated"
