"""What scripts/run_app.sh reads from the settings before it starts the app."""

from __future__ import annotations

import subprocess
import sys

from rag.app.launch import index_has_documents, serve_assignments, shell_assignments
from rag.config import IngestSettings


def test_index_readiness(app_index, tmp_path):
    assert index_has_documents(app_index), "a built index is ready: make run skips the ingest"
    assert not index_has_documents(tmp_path / "missing"), "no index: make run builds it"
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "registry.sqlite3").write_bytes(b"not a database")
    assert not index_has_documents(tmp_path / "junk"), "an unreadable registry counts as not built"


def test_shell_assignments_follow_the_settings(settings):
    settings = settings.model_copy(update={"ingest": IngestSettings(max_file_mb=2.5)})
    values = shell_assignments(settings)
    assert values["MAX_UPLOAD_MB"] == "3", (
        "Streamlit's limit rounds up so the engine's message is the one seen"
    )
    assert values["ADDRESS"] == "127.0.0.1" and values["PORT"] == "8501" and values["INDEX_READY"] == "0"


def test_the_module_prints_quoted_shell_assignments(tmp_path):
    env = {"CHANGEGUIDE_INDEX__DIR": str(tmp_path / "my index; rm -rf x"), "CHANGEGUIDE_APP__PORT": "8600"}
    out = subprocess.run(
        [sys.executable, "-m", "rag.app.launch"],
        capture_output=True,
        text=True,
        check=True,
        env=env | _base_env(),
    ).stdout
    values = subprocess.run(
        ["bash", "-c", 'eval "$1"; printf "%s|%s" "$INDEX_DIR" "$PORT"', "_", out],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert values == f"{tmp_path / 'my index; rm -rf x'}|8600", f"shell-safe quoting: {out}"


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("CHANGEGUIDE_")}


def test_launch_writes_the_sign_in_secrets_and_never_prints_them(tmp_path):
    data = tmp_path / "data"
    env = _base_env() | {
        "CHANGEGUIDE_APP__DATA_DIR": str(data),
        "CHANGEGUIDE_APP__OIDC__CLIENT_ID": "cg-client",
        "CHANGEGUIDE_APP__OIDC__CLIENT_SECRET": "launch-secret-value",
        "CHANGEGUIDE_APP__OIDC__SERVER_METADATA_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
        "CHANGEGUIDE_APP__PORT": "8610",
    }
    done = subprocess.run([sys.executable, "-m", "rag.app.launch"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert f"SECRETS_FILE={data / '.streamlit' / 'secrets.toml'}" in done.stdout, done.stdout
    assert "OPEN_URL=http://127.0.0.1:8610" in done.stdout, "open exactly the redirect URI's host"
    assert "launch-secret-value" not in done.stdout + done.stderr, "secrets are written, never printed"
    assert "launch-secret-value" in (data / ".streamlit" / "secrets.toml").read_text()

    refused = subprocess.run(
        [sys.executable, "-m", "rag.app.launch"],
        capture_output=True,
        text=True,
        env=env | {"CHANGEGUIDE_APP__ADDRESS": "0.0.0.0"},
    )
    assert refused.returncode == 2 and "CHANGEGUIDE_APP__OIDC__REDIRECT_URI" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr, "a clear message, not a traceback"


def test_serve_assignments_place_the_stack_beside_the_data(settings, tmp_path):
    from rag.config import AppSettings, ServeSettings

    settings = settings.model_copy(update={"app": AppSettings(data_dir=tmp_path / "data")})
    values = serve_assignments(settings)
    assert values["RUN_DIR"] == str(tmp_path / "data" / "run"), "logs and pids go under the data folder"
    assert values["CHROMA_DIR"] == str((settings.index.dir / "chroma").resolve()), (
        "the Chroma server serves the index folder's own chroma/ (the laptop's layout)"
    )
    assert (values["PROCESSES"], values["APP_PORT"], values["CHROMA_PORT"]) == ("2", "8601", "8600")
    moved = settings.model_copy(
        update={
            "serve": ServeSettings(processes=3, run_dir=tmp_path / "run", chroma_dir=tmp_path / "vectors")
        }
    )
    values = serve_assignments(moved)
    assert (values["PROCESSES"], values["RUN_DIR"], values["CHROMA_DIR"]) == (
        "3",
        str(tmp_path / "run"),
        str(tmp_path / "vectors"),
    )
