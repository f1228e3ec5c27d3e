"""Ingestion: one loader per format, then chunking."""
