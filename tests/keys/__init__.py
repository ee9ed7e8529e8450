"""Tests of `make keys` (local/keys.py)."""
