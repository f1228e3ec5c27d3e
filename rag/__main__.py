"""`python -m rag` is the `changeguide` command."""

from rag.cli import main

raise SystemExit(main())
