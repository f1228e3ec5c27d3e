"""Hand-written documents for the retrieval tests, one chunk per paragraph."""

from __future__ import annotations

from typing import Any

from rag.types import Chunk, SourceDocument, content_hash

# Each document: (format, meta, paragraphs). Paragraphs are written so that one query is found
# only by its exact code (dense misses it) and another only by meaning (BM25 misses it).
DOCUMENTS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "discharge": (
        "markdown",
        {"topics": ["flow"], "year": 2021},
        [
            "Discharge planning starts on admission. The ward team agrees an expected date of discharge "
            "and reviews it every day at the board round.",
            "Before a patient leaves, the discharge coordinator completes form QX7731 and sends it to the "
            "community team, who arrange equipment, home visits and a follow-up call.",
            "Delays often come from waiting for medicines to take home, transport and social care "
            "assessments; starting these early shortens the length of stay.",
        ],
    ),
    "wellbeing": (
        "pdf",
        {"topics": ["workforce", "wellbeing"], "year": 2019},
        [
            "Preventing exhaustion among staff: protected rest breaks, fair rotas and manageable "
            "workloads reduce emotional fatigue and the wish to quit nursing.",
            "Team leaders who check in with colleagues after a distressing shift help them recover "
            "and keep them in post.",
            "Sickness absence from stress and anxiety is the commonest reason people give for leaving; "
            "occupational health offers counselling early.",
            "Emotional exhaustion on wards rises with long shifts, short staffing and little recognition.",
        ],
    ),
    "lean": (
        "markdown",
        {"topics": ["improvement"], "year": 2012},
        [
            "In the Toyota production system any worker can halt the line when a defect appears, "
            "because a defect found early costs far less to fix.",
            "Value stream mapping shows every step a patient takes from referral to treatment, and "
            "which steps add value.",
        ],
    ),
    "measurement": (
        "text",
        {"topics": ["measurement"], "year": 2011},
        [
            "A run chart plots a measure over time with the median as its centre line; a shift of six "
            "or more points on one side of the median signals a non-random change.",
            "Statistical process control charts add control limits, so a team can tell common cause "
            "variation from special cause variation.",
        ],
    ),
    "estates": (
        "html",
        {"topics": ["facilities"], "year": 2024},
        [
            "Avoid burning clinical waste on hospital land: it goes to the contractor's incinerator off "
            "site. Bins are collected twice a week and weighed at the loading bay.",
            "Portable heaters are not allowed in offices; the estates helpdesk lends approved ones in a cold snap.",
        ],
    ),
    "theatres": (
        "pdf",
        {"topics": ["finance"], "year": 2022},
        [
            "Theatre budgets overspent this year because of agency anaesthetists and cancelled lists "
            "that still had to be paid for.",
            "Form QX7737: falls risk assessment.",
            "Form QX7713: pressure ulcer check.",
        ],
    ),
    "kotter": (
        "docx",
        {"topics": ["leadership"]},
        [
            "Kotter's eight steps begin with a sense of urgency and a guiding coalition of people "
            "with the authority to lead the change.",
            "Short-term wins keep momentum; the final step anchors new approaches in the culture.",
        ],
    ),
}

KEYWORD_QUERY = "QX7731"  # near-identical codes elsewhere fool dense search; BM25 matches exactly
KEYWORD_TARGET = ("discharge", 1)
PARAPHRASE_QUERY = "How can my nurses avoid burning out?"  # "avoid burning" lures BM25 to waste
PARAPHRASE_TARGET = ("wellbeing", 0)


def build_document(name: str) -> tuple[SourceDocument, list[Chunk]]:
    fmt, meta, paragraphs = DOCUMENTS[name]
    text = "\n\n".join(paragraphs)
    doc_id = content_hash(text)
    title = f"{name.title()} guide"
    source = f"/library/{name}.{'md' if fmt == 'markdown' else fmt}"
    doc = SourceDocument(
        doc_id=doc_id, title=title, source=source, format=fmt, text=text, meta=meta, size_bytes=len(text)
    )
    chunks, start = [], 0
    for ordinal, para in enumerate(paragraphs):
        end = start + len(para)
        chunk_meta = {"title": title, "source": source, "format": fmt, **meta}
        chunks.append(
            Chunk(
                id=content_hash(doc_id, str(start), str(end), para),
                doc_id=doc_id,
                text=para,
                start=start,
                end=end,
                section=title,
                ordinal=ordinal,
                meta=chunk_meta,
            )
        )
        start = end + 2
    return doc, chunks


def chunk_id(name: str, ordinal: int) -> str:
    return build_document(name)[1][ordinal].id


def doc_id(name: str) -> str:
    return build_document(name)[0].doc_id
