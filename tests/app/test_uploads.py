"""Uploaded files: sanitised names, the size limit, writes that stay inside the uploads folder."""

from __future__ import annotations

import pytest

from rag.app import uploads
from rag.config import IngestSettings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.DOCX", "evil.docx"),
        ("/abs/path/notes.md", "notes.md"),
        ("..", "upload"),
        (".hidden.md", "hidden.md"),
        ("Änderung über Plan (v2).pdf", "Anderung_uber_Plan_v2.pdf"),
        ("a\x00b\nc.txt", "a_b_c.txt"),
        ("   ", "upload"),
    ],
)
def test_safe_filename(given, expected):
    assert uploads.safe_filename(given) == expected, f"{given!r} should become {expected!r}"


def test_safe_filename_caps_the_length_and_keeps_the_extension():
    name = uploads.safe_filename("x" * 500 + ".pdf")
    assert len(name) == uploads.MAX_NAME_CHARS and name.endswith(".pdf"), name


def test_check_upload_reasons(settings):
    small = settings.model_copy(update={"ingest": IngestSettings(max_file_mb=1)})
    assert uploads.check_upload("a.pdf", 10, small) is None
    assert "unsupported file type .exe" in (uploads.check_upload("a.exe", 10, small) or "")
    assert "limit is 1 MB" in (uploads.check_upload("a.pdf", 2 * uploads.MB, small) or "")
    assert "empty" in (uploads.check_upload("a.txt", 0, small) or "")


def test_save_uploads_writes_inside_the_folder_and_reports_refusals(settings, tmp_path):
    settings = settings.model_copy(
        update={"app": settings.app.model_copy(update={"data_dir": tmp_path / "data"})}
    )
    saved = uploads.save_uploads(
        [
            ("../../../escape.md", b"# Escape\n\ntext\n"),
            ("tool.exe", b"MZ"),
            ("notes.txt", b"first"),
            ("sub/notes.txt", b"second"),
        ],
        settings,
    )
    folder = tmp_path / "data" / "uploads"
    assert [p.name for p in saved.paths] == ["escape.md", "notes.txt"], saved
    assert all(p.parent == folder.resolve() for p in saved.paths), "every file lands in uploads/"
    assert not (tmp_path / "escape.md").exists() and not (tmp_path.parent / "escape.md").exists()
    assert (folder / "notes.txt").read_bytes() == b"first", (
        "a clashing name in one upload is refused, not merged"
    )
    assert [name for name, _ in saved.rejected] == ["tool.exe", "sub/notes.txt"], saved.rejected
    assert not [p for p in folder.iterdir() if p.name.startswith(".upload-")], (
        "no temporary files left behind"
    )

    again = uploads.save_uploads([("notes.txt", b"revised")], settings)
    assert again.paths == saved.paths[1:] and (folder / "notes.txt").read_bytes() == b"revised", (
        "uploading the same name again replaces the earlier upload (so ingest updates that document)"
    )
    assert uploads.is_upload(str(folder / "notes.txt"), settings)
    assert not uploads.is_upload(str(tmp_path / "elsewhere.txt"), settings)
    outside = tmp_path / "keep.txt"
    outside.write_text("keep")
    uploads.delete_upload(str(outside), settings)
    assert outside.exists(), "delete_upload never touches files outside the uploads folder"
    uploads.delete_upload(str(folder / "notes.txt"), settings)
    assert not (folder / "notes.txt").exists()
