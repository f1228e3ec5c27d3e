"""Evaluation: question sets, the runner over the engine, metrics, reports and comparisons."""
