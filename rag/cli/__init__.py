"""The `changeguide` command line. Each stage registers its subcommands from its own module.

Exit codes: 0 success, 1 partial failure (e.g. some files failed to ingest), 2 usage error.
This is one of the two places (with app.py) that turns exceptions into user messages.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from rag.errors import ChangeGuideError

# Modules that each define `register(subparsers)`; a subcommand sets `func(args, settings) -> int`.
COMMAND_MODULES = ("rag.cli.ingest", "rag.cli.ask", "rag.cli.chat", "rag.cli.evaluate")

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="changeguide", description="Change Guide: answers with cited excerpts from your library."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but one of its imports is missing
                raise
            continue
        module.register(subparsers)
    return parser


def add_index_argument(parser: argparse.ArgumentParser) -> None:
    """The `--index DIR` option every command takes."""
    parser.add_argument(
        "--index", metavar="DIR", help="index folder (default: $CHANGEGUIDE_INDEX__DIR or data/index)"
    )


def load_settings(args: argparse.Namespace):
    """Settings from the environment, with `--index` applied."""
    from rag.config import Settings

    settings = Settings()
    if getattr(args, "index", None):
        settings = settings.with_index_dir(args.index)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        settings = load_settings(args)
        return int(args.func(args, settings))
    except ChangeGuideError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `changeguide docs list | head`: the reader went away. Point stdout at /dev/null so
        # Python's flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
