"""Allow ``python -m lspilot``."""

from lspilot.cli import main

raise SystemExit(main())
