"""The savings settings: restart caps per provider or engine, the reporting time zone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger_server.config import Settings
from ledger_server.domain.savings.policy import SavingsPolicy, parse_caps, policy_from


def test_settings_read_the_savings_settings_from_the_environment() -> None:
    assert (
        Settings.from_env({}).savings_restart_caps,
        Settings.from_env({}).savings_time_zone,
    ) == (
        "aws=7d",
        "UTC",
    )
    settings = Settings.from_env(
        {"LEDGER_SAVINGS_RESTART_CAPS": "gcp=30d", "LEDGER_SAVINGS_TIME_ZONE": "Europe/Berlin"}
    )
    assert (settings.savings_restart_caps, settings.savings_time_zone) == (
        "gcp=30d",
        "Europe/Berlin",
    )


@pytest.mark.parametrize(
    ("caps", "zone", "message"),
    [
        ("aws=7", "UTC", "bad restart cap 'aws=7'"),
        ("AWS=7d", "UTC", "bad restart cap 'AWS=7d'"),
        ("aws=0d", "UTC", "bad restart cap 'aws=0d'"),
        ("aws=7d", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("aws=7d", "", "unknown time zone ''"),
    ],
)
def test_settings_refuse_savings_settings_that_cannot_work(
    caps: str, zone: str, message: str
) -> None:
    settings = Settings(savings_restart_caps=caps, savings_time_zone=zone)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        settings.check()


def test_cap_for_an_engine_wins_over_its_provider_and_none_means_no_cap() -> None:
    policy = policy_from("aws=7d, aws/aurora-mysql=none, gcp=36h", "UTC")
    assert policy.cap_for("aws", "postgres") == timedelta(days=7)
    assert policy.cap_for("aws", "aurora-mysql") is None
    assert policy.cap_for("gcp", "") == timedelta(hours=36)
    assert policy.cap_for("azure", "postgres") is None


def test_default_policy_caps_aws_at_seven_days_in_utc() -> None:
    policy = SavingsPolicy()
    assert policy.cap_for("aws", "mysql") == timedelta(days=7)
    assert policy.time_zone == "UTC"
    assert parse_caps("") == {}


def test_parse_caps_skips_empty_entries() -> None:
    assert parse_caps("aws=7d,, gcp=1d ,") == {
        ("aws", ""): timedelta(days=7),
        ("gcp", ""): timedelta(days=1),
    }
