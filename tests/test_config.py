from pathlib import Path

from rag.config import Settings


def test_env_prefix_and_nested_sections(monkeypatch):
    monkeypatch.setenv("CHANGEGUIDE_INDEX__DIR", "/srv/changeguide")
    monkeypatch.setenv("CHANGEGUIDE_RETRIEVAL__K", "7")
    settings = Settings()
    assert settings.index.dir == Path("/srv/changeguide"), (
        "CHANGEGUIDE_INDEX__DIR should set the index folder"
    )
    assert settings.retrieval.k == 7, "nested settings should read CHANGEGUIDE_<SECTION>__<FIELD>"


def test_fingerprint_changes_with_what_shapes_the_index():
    base = Settings()
    assert base.fingerprint() == Settings().fingerprint(), "the fingerprint must be deterministic"
    other = base.model_copy(update={"chunking": base.chunking.model_copy(update={"chunk_tokens": 200})})
    assert other.fingerprint() != base.fingerprint(), "chunking settings must change the fingerprint"
    retrieval = base.model_copy(update={"retrieval": base.retrieval.model_copy(update={"k": 9})})
    assert retrieval.fingerprint() == base.fingerprint(), (
        "query-time settings must not change the fingerprint"
    )


def test_api_key_is_secret(monkeypatch):
    monkeypatch.setenv("CHANGEGUIDE_LLM__API_KEY", "sk-test-123")
    settings = Settings()
    assert "sk-test-123" not in repr(settings), "secrets must never appear in reprs or logs"
    assert settings.llm.api_key.get_secret_value() == "sk-test-123"
