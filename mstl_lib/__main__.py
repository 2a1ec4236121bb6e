"""``python -m mstl_lib`` runs the command-line interface."""

from mstl_lib.cli import main

raise SystemExit(main())
