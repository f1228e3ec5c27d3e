"""Office files are zip archives: refuse non-zips and zip bombs before a parser inflates anything."""

from __future__ import annotations

import io
import zipfile

from rag.errors import IngestError

MB = 1024 * 1024


def check_office_zip(raw: bytes, kind: str, required: str, max_expanded_mb: float) -> None:
    """Raise `IngestError` unless `raw` is a zip holding `required` that expands within the limit.

    Args:
        raw: the file's bytes.
        kind: the format named in messages ("PPTX", "XLSX").
        required: the member every valid file of that kind has (e.g. "ppt/presentation.xml").
        max_expanded_mb: the zip-bomb limit (settings.ingest.max_docx_expanded_mb).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise IngestError(f"not a valid {kind}: the file is not a zip archive (corrupt or misnamed)") from exc
    if expanded > max_expanded_mb * MB:
        raise IngestError(
            f"{kind} expands to {expanded / MB:,.0f} MB, over the {max_expanded_mb:g} MB limit "
            "(possible zip bomb; CHANGEGUIDE_INGEST__MAX_DOCX_EXPANDED_MB)"
        )
    if required not in names:
        raise IngestError(f"not a valid {kind}: the zip archive has no {required}")
