"""Build the optional chat backends from settings: OpenAI-compatible servers and Ollama.

"openai" is `langchain_openai.ChatOpenAI` with a configurable base URL, so it covers OpenAI,
Azure OpenAI's compatible endpoint, vLLM, llama.cpp's server and LM Studio; "ollama" is
`langchain_ollama.ChatOllama`. Both packages are optional extras, imported here only.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rag.config import LLMSettings, Settings
from rag.errors import BackendUnavailableError, ConfigError, MissingDependencyError
from rag.index.embedding import Embedder
from rag.llm.condense import LLMCondenser
from rag.llm.failures import ServerHealth
from rag.llm.generator import LLMGenerator

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from rag.answer.base import Generator

DEFAULT_MODELS = {"openai": "gpt-4o-mini", "ollama": "llama3.2"}
OPENAI_URL = "https://api.openai.com/v1"
OLLAMA_URL = "http://localhost:11434"
# One retry rides out a dropped connection or a 429/5xx blip; more would multiply a timeout's wait.
MAX_RETRIES = 1
# Local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) ignore the key, but the client
# refuses to start without one.
LOCAL_SERVER_KEY = "not-needed"


def _missing(package: str, extra: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"The {extra} backend needs the `{package}` package. Install with `pip install '.[{extra}]'`, "
        "or use the extractive backend."
    )


def api_key(llm: LLMSettings) -> str | None:
    """The OpenAI-compatible API key: settings first, then OPENAI_API_KEY."""
    if llm.api_key is not None:
        return llm.api_key.get_secret_value()
    return os.environ.get("OPENAI_API_KEY") or None


def server_url(llm: LLMSettings, backend: str) -> str:
    """The URL the backend talks to (for notices; credentials are stripped when shown)."""
    if llm.base_url:
        return llm.base_url
    if backend == "ollama":
        return os.environ.get("OLLAMA_HOST") or OLLAMA_URL
    return OPENAI_URL


def make_chat_model(llm: LLMSettings, backend: str | None = None) -> BaseChatModel:
    """The LangChain chat model for `backend` (default `llm.backend`).

    Raises:
        MissingDependencyError: the backend's package is not installed.
        BackendUnavailableError: OpenAI's own API was chosen without an API key.
        ConfigError: the backend is not a generative one.
    """
    backend = backend or llm.backend
    model = llm.model or DEFAULT_MODELS.get(backend, "")
    if backend == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise _missing("langchain-openai", "openai") from exc
        key = api_key(llm)
        if key is None:
            if not llm.base_url:
                raise BackendUnavailableError(
                    "The openai backend needs an API key: set CHANGEGUIDE_LLM__API_KEY (or OPENAI_API_KEY), "
                    "or point CHANGEGUIDE_LLM__BASE_URL at a local OpenAI-compatible server."
                )
            key = LOCAL_SERVER_KEY
        return ChatOpenAI(
            model=model,
            base_url=llm.base_url or OPENAI_URL,
            api_key=key,
            timeout=llm.timeout_s,
            max_retries=MAX_RETRIES,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
            # `streaming` is left unset on purpose: then .stream() (the answer) streams token by token
            # and .invoke() (condensing) gets one JSON reply. An explicit streaming=False would turn
            # .stream() into a single chunk in langchain-core 1.x; streaming=True would stream invoke().
            # Local servers speak /chat/completions only, never the newer Responses API.
            use_responses_api=False,
        )
    if backend == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise _missing("langchain-ollama", "ollama") from exc
        return ChatOllama(
            model=model,
            base_url=llm.base_url,
            temperature=llm.temperature,
            num_predict=llm.max_tokens,
            client_kwargs={"timeout": llm.timeout_s},
        )
    raise ConfigError(f"{backend!r} is not a generative backend; choose openai or ollama.")


def make_generator(name: str, settings: Settings, embedder: Embedder, fallback: Generator) -> Generator:
    """The `Generator` for backend `name`, wrapping `fallback` (the extractive answerer).

    Raises:
        MissingDependencyError: the backend's package is not installed.
        BackendUnavailableError: the backend is not configured (e.g. no API key for OpenAI).
    """
    chat_model = make_chat_model(settings.llm, name)
    key = api_key(settings.llm) if name == "openai" else None
    health = ServerHealth(server_url(settings.llm, name), secrets=(key,) if key else ())
    condenser = LLMCondenser(chat_model, health) if settings.llm.condense else None
    return LLMGenerator(name, chat_model, embedder, fallback, health, condenser)
