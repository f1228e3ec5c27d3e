"""Retrieval: dense and keyword search, rank fusion, second-stage scoring, diversity."""
