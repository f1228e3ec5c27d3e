"""Which files an ingest takes: named files and folders walked, with `.changeguideignore` honoured."""

from __future__ import annotations

import errno
import fnmatch
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import IngestError
from rag.ingest.loaders import SUPPORTED_EXTENSIONS

if TYPE_CHECKING:
    from rag.ingest.pipeline import IngestReport

# A folder may list file-name globs its ingest should pass over (e.g. a catalogue README).
IGNORE_FILE = ".changeguideignore"


def discover(paths: Sequence[Path], report: IngestReport, exclude: Sequence[Path] = ()) -> list[Path]:
    """Resolved, de-duplicated files to ingest, in order; problems go into `report`.

    A named file that is missing, a symlink loop or of an unsupported type is a failure;
    inside a folder, unsupported files and files matching the folder's `.changeguideignore`
    globs are skipped (a glob ending in "/" skips a subfolder whole, reported once), and hidden
    files and folders and the `exclude` folders are ignored.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    failed: set[str] = set()

    def take(path: Path, named: bool) -> None:
        try:
            resolved = _resolve(path)
        except IngestError as exc:
            if str(path) not in failed:  # a file named and also inside a named folder: report once
                failed.add(str(path))
                report.failed.append((str(path), str(exc)))
            return
        if resolved.is_dir():
            if named:
                _walk(resolved, take, lambda p, why: report.skipped.append((str(p), why)), set(exclude))
            return
        if resolved in seen:
            return
        if resolved.suffix.lower() not in SUPPORTED_EXTENSIONS:
            reason = f"unsupported file type {resolved.suffix or '(no extension)'}"
            if named:
                supported = " ".join(sorted(SUPPORTED_EXTENSIONS))
                report.failed.append((str(resolved), f"{reason} (supported: {supported})"))
            else:
                report.skipped.append((str(resolved), reason))
            return
        seen.add(resolved)
        found.append(resolved)

    for path in paths:
        take(Path(path).expanduser(), named=True)
    return found


def _walk(
    folder: Path, take: Callable[[Path, bool], None], skip: Callable[[Path, str], None], exclude: set[Path]
) -> None:
    if folder in exclude:
        return
    for root, dirs, files in os.walk(folder):  # symlinked folders are not followed: no cycles
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root) / d not in exclude)
        ignored = _ignore_patterns(Path(root))
        # A pattern ending in "/" names subfolders: each is passed over whole, in one report line.
        folders = [p.rstrip("/") for p in ignored if p.endswith("/")]
        for name in [d for d in dirs if any(fnmatch.fnmatchcase(d, pattern) for pattern in folders)]:
            dirs.remove(name)
            skip(Path(root) / name, f"folder ignored by {IGNORE_FILE}")
        for name in sorted(files):
            if name.startswith("."):
                continue
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in ignored):
                skip(Path(root) / name, f"ignored by {IGNORE_FILE}")
            else:
                take(Path(root) / name, False)


def _ignore_patterns(folder: Path) -> list[str]:
    """Patterns listed in the folder's ignore file (one glob a line, # comments; "name/" = a subfolder)."""
    try:
        lines = (folder / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _resolve(path: Path) -> Path:
    """The real path of an existing file or folder.

    Raises:
        IngestError: missing path, broken link or symlink loop.
    """
    try:
        return path.resolve(strict=True)
    except FileNotFoundError as exc:
        reason = "broken symbolic link" if path.is_symlink() else "no such file or directory"
        raise IngestError(reason) from exc
    except RuntimeError as exc:  # Python 3.11 reports a symlink loop as RuntimeError
        raise IngestError("symbolic link loop") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IngestError("symbolic link loop") from exc
        raise IngestError(f"cannot access: {exc.strerror or exc}") from exc
