"""Run one index change and die with os._exit (as kill -9 would) at a chosen point.

Usage: python crash_child.py INDEX_DIR PAYLOAD.pickle ACTION TARGET
  ACTION  replace | remove | batch
  TARGET  module:Class.method that ends the process when called ("none": never),
          or module:Class.method+half (ChromaVectorStore.add only): write half the vectors, then die.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys

CRASHED = 86  # exit status the parent expects from a simulated crash


def arm(target: str) -> None:
    if target == "none":
        return
    half = target.endswith("+half")
    module_name, qualname = target.removesuffix("+half").split(":")
    cls_name, method_name = qualname.split(".")
    cls = getattr(importlib.import_module(module_name), cls_name)
    original = getattr(cls, method_name)

    def die(self, *args, **kwargs):
        if half:
            ids, vectors, doc_ids = args
            original(self, ids[: len(ids) // 2], vectors[: len(ids) // 2], doc_ids[: len(ids) // 2])
        sys.stdout.flush()
        os._exit(CRASHED)

    setattr(cls, method_name, die)


def main(index_dir: str, payload_path: str, action: str, target: str) -> None:
    from rag.config import Settings
    from rag.index.store import Index

    with open(payload_path, "rb") as f:
        payload = pickle.load(f)
    index = Index.open(Settings().with_index_dir(index_dir))
    arm(target)
    # Each entry is (SourceDocument, chunks, vectors).
    old, new = payload["old"], payload["new"]
    if action == "replace":
        index.add_document(*new, replaces=old[0].doc_id)
    elif action == "remove":
        index.remove_document(old[0].doc_id)
    elif action == "batch":
        with index.batch():
            for extra in payload["extra"]:
                index.add_document(*extra)
    else:
        raise SystemExit(f"unknown action {action}")
    index.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
