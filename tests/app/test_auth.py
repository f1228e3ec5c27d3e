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
