"""Building the optional chat backends from settings."""

from __future__ import annotations

import sys

import pytest
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from rag.config import LLMSettings, Settings
from rag.errors import BackendUnavailableError, ConfigError, MissingDependencyError
from rag.llm.condense import LLMCondenser
from rag.llm.factory import LOCAL_SERVER_KEY, MAX_RETRIES, OPENAI_URL, make_chat_model, make_generator
from rag.llm.generator import LLMGenerator


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "OLLAMA_HOST", "CHANGEGUIDE_LLM__API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_openai_compatible_server_from_settings():
    llm = LLMSettings(backend="openai", base_url="http://127.0.0.1:8080/v1", model="local", timeout_s=7)
    model = make_chat_model(llm)
    assert isinstance(model, ChatOpenAI)
    assert (model.openai_api_base, model.model_name, model.request_timeout) == (
        "http://127.0.0.1:8080/v1",
        "local",
        7,
    )
    assert model.max_retries == MAX_RETRIES and model.use_responses_api is False
    assert model.openai_api_key.get_secret_value() == LOCAL_SERVER_KEY, "local servers get a placeholder key"


def test_openai_key_comes_from_settings_or_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234")
    model = make_chat_model(LLMSettings(backend="openai"))
    assert model.openai_api_base == OPENAI_URL and model.model_name == "gpt-4o-mini"
    assert model.openai_api_key.get_secret_value() == "sk-from-env-1234"
    monkeypatch.setenv("CHANGEGUIDE_LLM__API_KEY", "sk-from-settings-5678")
    model = make_chat_model(Settings().llm, "openai")
    assert model.openai_api_key.get_secret_value() == "sk-from-settings-5678", "the setting wins"


def test_openai_without_a_key_or_a_local_server_says_how_to_fix_it():
    with pytest.raises(BackendUnavailableError, match="CHANGEGUIDE_LLM__API_KEY"):
        make_chat_model(LLMSettings(backend="openai"))


def test_ollama_from_settings():
    model = make_chat_model(LLMSettings(base_url="http://127.0.0.1:11434", timeout_s=3), "ollama")
    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url) == ("llama3.2", "http://127.0.0.1:11434"), "ollama's default model"
    assert model.client_kwargs == {"timeout": 3}, "the timeout reaches the HTTP client"


@pytest.mark.parametrize(
    ("backend", "module", "extra"),
    [("openai", "langchain_openai", "openai"), ("ollama", "langchain_ollama", "ollama")],
)
def test_a_missing_package_names_the_extra(monkeypatch, backend, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail as if not installed
    with pytest.raises(MissingDependencyError, match=rf"Install with `pip install '\.\[{extra}\]'`"):
        make_chat_model(LLMSettings(base_url="http://127.0.0.1:1/v1"), backend)


def test_extractive_is_not_a_chat_backend():
    with pytest.raises(ConfigError):
        make_chat_model(LLMSettings(backend="extractive"))


def test_make_generator_wraps_the_fallback_and_condenses_with_the_same_model(shared_embedder, extractive):
    settings = Settings(llm=LLMSettings(base_url="http://user:secret@127.0.0.1:8080/v1?key=abc"))
    generator = make_generator("openai", settings, shared_embedder, extractive)
    assert isinstance(generator, LLMGenerator) and generator.name == "openai"
    assert generator.fallback is extractive and generator.embedder is shared_embedder
    assert (
        isinstance(generator.condenser, LLMCondenser)
        and generator.condenser.chat_model is generator.chat_model
    )
    no_condense = make_generator(
        "openai",
        Settings(llm=LLMSettings(base_url="http://h/v1", condense=False)),
        shared_embedder,
        extractive,
    )
    assert no_condense.condenser is None, "CHANGEGUIDE_LLM__CONDENSE=false keeps the deterministic rewrite"
