"""Uploaded files: safe names, the size limit, and saving them under the data folder for ingestion.

A browser sends whatever file name it likes ("../../etc/passwd", "C:\\evil.pdf", names with
control characters). Only a cleaned base name is ever joined to the uploads folder, and the
result is checked to lie inside it before anything is written.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from rag.config import Settings
from rag.ingest.loaders import SUPPORTED_EXTENSIONS

UPLOADS = "uploads"  # folder under settings.app.data_dir
MB = 1024 * 1024
MAX_NAME_CHARS = 120  # keeps names readable and well inside every filesystem's limit
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.app.data_dir) / UPLOADS


def safe_filename(name: str) -> str:
    """A file name that is safe to create in the uploads folder.

    Keeps only the last path component (either slash), ASCII letters, digits, dot, dash and
    underscore (other runs become "_"), no leading dots (no hidden files, no ".."), at most
    `MAX_NAME_CHARS` characters with the extension kept, and never empty.
    """
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base).strip("._ ")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem.strip("._ ") or "upload"
    ext = ext.lower()[:10]
    keep = MAX_NAME_CHARS - (len(ext) + 1 if ext else 0)
    return f"{stem[:keep]}.{ext}" if ext else stem[:keep]


def check_upload(name: str, size: int, settings: Settings) -> str | None:
    """Why an upload is refused (unsupported type, too large, empty), or None if it is acceptable."""
    suffix = PurePath(safe_filename(name)).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        kinds = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        return f"unsupported file type {suffix or '(none)'}; the library reads {kinds}"
    limit = settings.ingest.max_file_mb
    if size > limit * MB:
        return f"the file is {size / MB:.1f} MB; the limit is {limit:g} MB (CHANGEGUIDE_INGEST__MAX_FILE_MB)"
    if size == 0:
        return "the file is empty"
    return None


@dataclass
class SavedUploads:
    """Files written to the uploads folder, and the uploads refused with their reasons."""

    paths: list[Path] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (name as uploaded, reason)


def save_uploads(files: Iterable[tuple[str, bytes]], settings: Settings) -> SavedUploads:
    """Check each (name, content) and write the acceptable ones into the uploads folder.

    A file with the same safe name replaces the earlier upload, so ingesting it updates that
    document instead of adding a second copy. Writes are atomic (temporary file, then rename).
    """
    folder = uploads_dir(settings).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    saved = SavedUploads()
    seen: set[str] = set()
    for name, content in files:
        reason = check_upload(name, len(content), settings)
        target = folder / safe_filename(name)
        if reason is None and target.name in seen:
            reason = f"another file in this upload is also called {target.name}"
        if reason is None and target.resolve().parent != folder:  # belt and braces: never escape
            reason = "the file name is not allowed"
        if reason is not None:
            saved.rejected.append((name, reason))
            continue
        seen.add(target.name)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            saved.rejected.append((name, f"could not be saved: {exc.strerror or exc}"))
            continue
        saved.paths.append(target)
    return saved


def is_upload(source: str, settings: Settings) -> bool:
    """Whether a document's source path is a file in the uploads folder (the app may delete it)."""
    try:
        return Path(source).resolve().parent == uploads_dir(settings).resolve()
    except OSError:
        return False


def delete_upload(source: str, settings: Settings) -> None:
    """Delete the uploaded copy of a removed document (only ever inside the uploads folder)."""
    if is_upload(source, settings):
        Path(source).unlink(missing_ok=True)
