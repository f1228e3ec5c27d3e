"""Learned parts shipped with the package: fitted linear models (JSON) and the reranker weights.

Each model file records the command that fitted it, its training data's hash and its
cross-validated figures (training/README.md is the model card).
"""
