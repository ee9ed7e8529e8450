"""Log groups keep data as long as config says, and prod retains them on stack deletion."""

from __future__ import annotations

from tests.infra.conftest import Synthesized


def test_log_groups_have_configured_retention(env: Synthesized) -> None:
    groups = env.observability.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == 2
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == env.config.observability.log_retention_days


def test_prod_retains_logs_and_dev_deletes_them(dev: Synthesized, prod: Synthesized) -> None:
    for group in prod.observability.find_resources("AWS::Logs::LogGroup").values():
        assert group["DeletionPolicy"] == "Retain"
    for group in dev.observability.find_resources("AWS::Logs::LogGroup").values():
        assert group["DeletionPolicy"] == "Delete"
