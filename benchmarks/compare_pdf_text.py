"""Compare PDF text extractors on the shared PDFs: reading order, running headers, hyphens, speed.

    .venv/bin/python benchmarks/compare_pdf_text.py [--docs ../shared/docs] [--only pdfium,ours]
    .venv/bin/python benchmarks/compare_pdf_text.py --ocr   # time OCR of the two shared scans

Each extractor reads every page of the six shared PDFs (page count from the file). A check
passes when its phrase is found (or, for noise, not found) in the whitespace-normalised text:

* column-break sentences of the HASYv2 paper (two columns) and the Federal Register (three);
* a three-column sentence of the IRS instructions whose lines pdfium's stream order interleaves;
* printer-proof boilerplate and running headers/footers left inside the text (IRS, Federal Register);
* a hyphenated line break joined ("applica-" + "tions");
* the dissertation's "Ethics and data storage statement" (contents page and section: 2 times).

Optional libraries (pdfplumber, pdfminer.six) are compared when installed; the project depends
only on pypdf and pypdfium2. Timings include each library's parse of the file; run on a quiet
machine for figures to quote.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from pathlib import Path

HASY = "MartinThoma_HASYv2-dataset-paper_IEEEtran-two-column.pdf"
FEDREG = "federal-register_2020-17221_FAA-737MAX-proposed-airworthiness-directive.pdf"
IRS = "irs_instructions-form-1040NR_2007.pdf"
FBI = "fbi_nics-firearm-background-checks-by-state_2015-11.pdf"
DISSERTATION = "drcjar_learning-from-patient-safety-incidents_Dissertation.pdf"
CDC = "cdc_guide-infection-prevention-outpatient-settings_v2.3_2016.pdf"
FILES = (HASY, FEDREG, IRS, FBI, DISSERTATION, CDC)
SCANS = (
    "ocrmypdf_epson-scan_wikipedia-optical-character-recognition-p1.pdf",
    "ocrmypdf_linn-scan_LinnSequencer-brochure.pdf",
)

# (file, name, phrase, expected count or None for "at least once")
CHECKS: tuple[tuple[str, str, str, int | None], ...] = (
    (HASY, "HASYv2 column break", "but they exist in two different variants.", None),
    (
        FEDREG,
        "Fed. Register column break",
        "airspeed disagree alert, and altitude disagree alert,5 and may affect",
        None,
    ),
    (
        IRS,
        "IRS three-column sentence",
        "However, if you have no gross income for 2007, do not complete the schedules for Form 1040NR.",
        None,
    ),
    (IRS, "IRS proof boilerplate gone", "MUST be removed before printing", 0),
    (FEDREG, "Fed. Register footer gone", "VerDate", 0),
    (FEDREG, "Fed. Register margin text gone", "jbell on DSKJLSW7X2PROD", 0),
    (HASY, "hyphen joined", "develop applications.", None),
    (DISSERTATION, "dissertation heading twice", "Ethics and data storage statement", 2),
)


def pypdf_plain(path: Path) -> list[str]:
    import pypdf

    return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages]


def pypdf_layout(path: Path) -> list[str]:
    import pypdf

    return [page.extract_text(extraction_mode="layout") or "" for page in pypdf.PdfReader(path).pages]


def pdfium_stream(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def pdfplumber_text(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def pdfminer_text(path: Path) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(path).split("\f")[:-1]


def ours(path: Path) -> list[str]:
    from rag.config import Settings
    from rag.ingest.loaders.pdf import load

    doc = load(path, Settings())
    return [doc.text[p.start : p.end] for p in doc.pages]


EXTRACTORS: dict[str, Callable[[Path], list[str]]] = {
    "pypdf": pypdf_plain,
    "pypdf-layout": pypdf_layout,
    "pdfium": pdfium_stream,
    "pdfplumber": pdfplumber_text,
    "pdfminer": pdfminer_text,
    "ours": ours,
}


def normalise(text: str) -> str:
    return " ".join(text.replace("\ufffe", "-").split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--docs", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "docs"
    )
    parser.add_argument("--only", default=",".join(EXTRACTORS), help="comma-separated extractor names")
    parser.add_argument(
        "--ocr", action="store_true", help="time the loader's OCR of the shared scans instead"
    )
    args = parser.parse_args()
    if args.ocr:
        for file in SCANS:
            start = time.perf_counter()
            text = ours(args.docs / file)
            print(f"{file}: {time.perf_counter() - start:.1f} s, {len(' '.join(text).split())} words")
        return
    names = [n for n in args.only.split(",") if n]
    print("| extractor | " + " | ".join(c[1] for c in CHECKS) + " | checks | pages/s |")
    print("|---" * (len(CHECKS) + 3) + "|")
    for name in names:
        try:
            texts, pages, seconds = {}, 0, 0.0
            for file in FILES:
                start = time.perf_counter()
                page_texts = EXTRACTORS[name](args.docs / file)
                seconds += time.perf_counter() - start
                pages += len(page_texts)
                texts[file] = normalise("\n".join(page_texts))
        except ImportError as exc:
            print(f"| {name} | not installed: {exc} |")
            continue
        cells, passed = [], 0
        for file, _, phrase, expected in CHECKS:
            found = len(re.findall(re.escape(phrase), texts[file]))
            ok = found >= 1 if expected is None else found == expected
            passed += ok
            cells.append(("yes" if ok else "no") + f" ({found})")
        print(f"| {name} | " + " | ".join(cells) + f" | {passed}/{len(CHECKS)} | {pages / seconds:.0f} |")


if __name__ == "__main__":
    main()
