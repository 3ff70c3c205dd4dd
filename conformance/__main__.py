"""``python -m conformance`` runs the CLI."""

from conformance.cli import main

raise SystemExit(main())
