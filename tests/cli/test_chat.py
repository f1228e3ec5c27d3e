"""`changeguide chat` driven through stdin, and `changeguide ask --history FILE`, on a real small index."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from rag.cli import main
from rag.cli.chat import chat_loop
from rag.cli.history import load_history
from rag.errors import HistoryFileError
from rag.types import Turn

REPO = Path(__file__).resolve().parents[2]
BRIEFS = ("kotter-eight-steps.md", "psychological-safety.md")
KOTTER = "What is Kotter's model?"
FOLLOW_UP = "what's the first step?"
REWRITTEN = "What's the first step of Kotter's model?"


@pytest.fixture(scope="module")
def chat_index(tmp_path_factory, embedder) -> Path:
    """A real index of two starter briefs, built once and closed before the CLI opens it."""
    from rag.config import Settings
    from rag.engine import ChangeGuide

    docs = tmp_path_factory.mktemp("chat-docs")
    for name in BRIEFS:
        shutil.copy(REPO / "corpus" / name, docs / name)
    index_dir = tmp_path_factory.mktemp("chat-index") / "index"
    engine = ChangeGuide(Settings().with_index_dir(index_dir), embedder=embedder)
    try:
        report = engine.ingest([docs])
    finally:
        engine.close()
    assert report.ok and len(report.added) == len(BRIEFS), f"index build failed: {report}"
    return index_dir


@pytest.fixture()
def loaded_model(monkeypatch, embedder):
    """Let the command reuse the session's model instead of loading its own."""
    monkeypatch.setattr("rag.index.embedding.SentenceTransformerEmbedder", lambda *args, **kwargs: embedder)


def _chat(monkeypatch, capsys, lines: str, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    code = main(["chat", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, f"a traceback reached the user: {err}"
    return code, out, err


def test_a_followup_in_chat_is_understood_through_the_turn_before(
    monkeypatch, capsys, chat_index, loaded_model
):
    lines = f"{KOTTER}\n{FOLLOW_UP}\n/quit\nWhat is psychological safety?\n"
    code, out, err = _chat(monkeypatch, capsys, lines, "--index", str(chat_index))
    assert code == 0, err
    assert f"(understood as: {REWRITTEN})" in out, out
    assert out.count("Sources:") == 2, "both questions get an answer with sources"
    assert "[1] Kotter" in out, out
    assert "psychological safety?" not in out, "nothing is asked after /quit"


def test_new_starts_the_conversation_over(monkeypatch, capsys, chat_index, loaded_model):
    lines = f"{KOTTER}\n/new\n{FOLLOW_UP}\n"
    code, out, _ = _chat(monkeypatch, capsys, lines, "--index", str(chat_index))
    assert code == 0
    assert "Started a new conversation." in out
    assert "understood as" not in out, "after /new the follow-up has no history to lean on"


def test_the_end_of_input_ends_the_session_cleanly(monkeypatch, capsys, chat_index, loaded_model):
    code, out, err = _chat(monkeypatch, capsys, f"{KOTTER}\n", "--index", str(chat_index))
    assert code == 0 and "Sources:" in out and not err, (out, err)


def test_a_bad_question_is_reported_and_the_session_goes_on(monkeypatch, capsys, chat_index, loaded_model):
    lines = f"{'x' * 2001}\n/nonsense\n{KOTTER}\n"
    code, out, _ = _chat(monkeypatch, capsys, lines, "--index", str(chat_index))
    assert code == 0
    assert "error: The question is 2,001 characters long" in out, out
    assert "Unknown command /nonsense" in out, out
    assert "Sources:" in out, "the question after the errors is still answered"


def test_chat_can_start_from_a_history_file(monkeypatch, capsys, chat_index, loaded_model, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"question": KOTTER, "answer": "Eight steps ..."}]), encoding="utf-8")
    code, out, _ = _chat(
        monkeypatch, capsys, f"{FOLLOW_UP}\n", "--index", str(chat_index), "--history", str(history)
    )
    assert code == 0 and f"(understood as: {REWRITTEN})" in out, out


class _Interrupting(io.StringIO):
    def readline(self, *args):  # the user presses Ctrl-C at the prompt
        raise KeyboardInterrupt


def test_ctrl_c_at_the_prompt_ends_the_session_cleanly(chat_index, embedder):
    from rag.config import Settings
    from rag.engine import ChangeGuide

    engine = ChangeGuide(Settings().with_index_dir(chat_index), embedder=embedder)
    out = io.StringIO()
    try:
        assert chat_loop(engine, _Interrupting(), out) == 0
    finally:
        engine.close()
    assert out.getvalue() == "\n", repr(out.getvalue())


def test_ask_with_a_history_file_rewrites_the_followup(capsys, chat_index, loaded_model, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"question": KOTTER}]), encoding="utf-8")
    code = main(["ask", FOLLOW_UP, "--index", str(chat_index), "--history", str(history), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    answer = json.loads(out)
    assert answer["question"] == FOLLOW_UP and answer["standalone_question"] == REWRITTEN, answer
    assert any("kotter" in c["source"] for c in answer["citations"]), answer["citations"]


def test_ask_reads_a_question_set_record_as_its_history(tmp_path):
    record = {"id": "fu-1", "question": FOLLOW_UP, "history": [{"question": KOTTER, "answer": "..."}]}
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    assert load_history(path) == (Turn(KOTTER, "..."),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "There is no history file"),
        ("[{'question': 'x'}", "is not JSON (line 1"),
        ('{"question": "What is a run chart?"}', "is not a list of earlier turns"),
        ('[{"q": "What is a run chart?"}]', "0.question: Field required"),
        ('[{"question": ""}]', "is not a list of earlier turns"),
    ],
)
def test_a_bad_history_file_exits_2_with_a_clear_message(capsys, tmp_path, content, message):
    path = tmp_path / "history.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code = main(["ask", FOLLOW_UP, "--index", str(tmp_path / "index"), "--history", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and message in err and not out, (code, out, err)
    assert "Traceback" not in err
    with pytest.raises(HistoryFileError):
        load_history(path)
