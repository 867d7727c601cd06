"""The assessment date: one definition (issue 15)."""

from __future__ import annotations

from datetime import UTC

import pytest


def test_the_assessment_date_is_the_utc_day_of_the_call() -> None:
    """One definition for hooks, API and SMART app (the hooks and the SMART app used the server's
    local day: near midnight they assessed another day than the API)."""
    from datetime import date, datetime, timedelta, timezone

    from cds_service.model.assessment import assessment_date_at

    paris = timezone(timedelta(hours=1))
    assert assessment_date_at(datetime(2024, 3, 1, 0, 30, tzinfo=paris)) == date(2024, 2, 29)
    assert assessment_date_at(datetime(2024, 3, 1, 23, 30, tzinfo=UTC)) == date(2024, 3, 1)
    with pytest.raises(ValueError, match="time zone"):
        assessment_date_at(datetime(2024, 3, 1, 12, 0))
