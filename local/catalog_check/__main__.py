"""Run the catalog drift check: `python -m local.catalog_check --env prod [--prices]`."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
