"""The day the emulator's wire-format tests run on.

These modules test each family's request and answer formats as Bedrock serves them, the seed
models included. They pin the emulator's clock to a day every one of those models was still
served, so a format stays tested after its model's end of life (models declared in a config,
or served in a region where AWS extends them, still speak it). What Bedrock does after an end
of life is tested, on the real calendar, in test_lifecycle.py.
"""

from __future__ import annotations

from datetime import date

FORMATS_DAY = date(2026, 4, 1)
