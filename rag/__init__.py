"""Change Guide's engine: ingest documents, retrieve evidence, answer with cited excerpts."""

__version__ = "0.1.0"
