"""What the app builds once per process and shares between sessions (Streamlit's resource cache).

The engine (with its embedding model) is expensive to build and safe to share: its own locks let
sessions ask while another ingests. One engine per set of engine settings (`engine_key`).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import streamlit as st
from pydantic import ValidationError

from rag.app import auth, roles
from rag.app.feedback import FeedbackStore
from rag.app.view import escape_markdown
from rag.config import Settings
from rag.errors import ChangeGuideError

if TYPE_CHECKING:
    from rag.engine import ChangeGuide
    from rag.index.embedding import Embedder

BACKEND_LABELS = {
    "extractive": "Extractive (offline, quotes only)",
    "openai": "OpenAI-compatible server",
    "ollama": "Ollama",
}


def settings_or_stop() -> Settings:
    """Settings from the environment; a bad setting stops the page with the reason."""
    try:
        return Settings()
    except ValidationError as exc:
        st.error("Change Guide cannot start: a `CHANGEGUIDE_` setting is invalid.")
        st.code(str(exc), language=None)
        st.stop()
        raise  # st.stop() raises; this line only tells type checkers so


def secret(name: str) -> object:
    """A value from Streamlit secrets, or None when there is no secrets file or no such key."""
    try:
        return st.secrets.get(name)
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None


def auth_secrets() -> dict:
    """The `[auth]` table of Streamlit's secrets (empty when sign-in is not set up)."""
    table = secret("auth")
    return table.to_dict() if hasattr(table, "to_dict") else dict(table) if isinstance(table, dict) else {}


def sign_in_or_stop(settings: Settings) -> roles.SignIn:
    """How people get in; a sign-in configured but not handed to Streamlit stops the page."""
    try:
        return auth.sign_in_mode(settings, auth_secrets(), secret("password"))
    except ChangeGuideError as exc:
        st.error(escape_markdown(str(exc)))
        st.stop()
        raise


def visitor(settings: Settings) -> roles.Visitor | None:
    """This session's visitor (None: an identity provider is in use and nobody current is signed in).

    Recomputed on every run from the settings and `st.user` (which Streamlit fills from the signed
    sign-in cookie), never kept in session state, where a widget could write.
    """
    mode = sign_in_or_stop(settings)
    claims = st.user.to_dict() if mode == "oidc" else None
    return roles.decide(settings.app, mode, claims)


def visitor_or_stop(settings: Settings) -> roles.Visitor:
    """The visitor, for the pages (app.py's gate has already asked everyone else to sign in)."""
    found = visitor(settings)
    if found is None:
        st.warning("Sign in to use Change Guide.")
        st.stop()
        raise RuntimeError("unreachable")  # st.stop() raises
    return found


@st.cache_resource(show_spinner=False)
def _embedder(embedding_settings: str, _settings: Settings) -> Embedder:
    from rag.index.embedding import make_embedder

    return make_embedder(_settings.embedding)


def engine_key(settings: Settings) -> str:
    """What identifies an engine: every setting but the app's own, the API key by its hash."""
    values = settings.model_dump(mode="json", exclude={"app": True, "serve": True, "llm": {"api_key"}})
    values["index"]["dir"] = str(settings.index.dir.resolve())
    key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else ""
    values["llm"]["api_key_sha256"] = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode("utf-8")).hexdigest()


@st.cache_resource(show_spinner=False)
def _engine(key: str, _settings: Settings) -> ChangeGuide:
    from rag.engine import ChangeGuide

    engine = ChangeGuide(_settings, embedder=embedder(_settings))
    # Embed the reranker's per-document profiles now, with the model load, rather than
    # during someone's first question.
    engine.warm()
    return engine


def embedder(settings: Settings) -> Embedder:
    """The shared embedding model (loaded once per process)."""
    return _embedder(settings.embedding.model_dump_json(), settings)


def engine_or_stop(settings: Settings) -> ChangeGuide:
    """The shared engine for `settings.index.dir`; an index that cannot be opened stops the page."""
    try:
        with st.spinner("Opening the library (the first start loads the language model)…"):
            return _engine(engine_key(settings), settings)
    except ChangeGuideError as exc:
        st.error(escape_markdown(str(exc)))
        st.stop()
        raise


@st.cache_resource(show_spinner=False)
def _feedback(path: str) -> FeedbackStore:
    return FeedbackStore.in_folder(path)


def feedback_store(settings: Settings) -> FeedbackStore:
    return _feedback(str(settings.app.data_dir.resolve()))


def backends(settings: Settings) -> list[str]:
    """The answer backends the sidebar offers: extractive, plus the LLM backend if one is configured."""
    configured = settings.llm.backend
    return ["extractive"] if configured == "extractive" else [configured, "extractive"]
