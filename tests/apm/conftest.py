import pytest
from rest_framework.test import APIClient

from tests import factories as f


@pytest.fixture
def housing_staff(db):
    """The housing program's owners; they may also write SQL probes."""
    return f.group("Housing staff", "use_sql_probe")


@pytest.fixture
def staff_alice(housing_staff):
    return f.staff_user("staff_alice", housing_staff)


@pytest.fixture
def staff_dave(db):
    """Staff, but of another program's group, without the SQL-probe permission."""
    return f.staff_user("staff_dave", f.group("Transit staff"))


@pytest.fixture
def viewer_bob(db):
    return f.viewer_user("viewer_bob")


@pytest.fixture
def outsider_carol(db):
    return f.plain_user("outsider_carol")


@pytest.fixture
def api():
    """``api(user)`` is an API client logged in as ``user``."""

    def login(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return login


@pytest.fixture
def sdk(live_server, staff_alice):
    """The SDK's default client, pointed at the live server as staff_alice."""
    from rest_framework.authtoken.models import Token

    import hms_sdk

    previous = hms_sdk._default
    client = hms_sdk.configure(live_server.url, Token.objects.create(user=staff_alice).key)
    yield client
    client.session.close()
    hms_sdk._default = previous


@pytest.fixture
def scheduled():
    """The SDK's client-side schedule registry, empty before and after the test."""
    from hms_apm import Watchdog

    Watchdog.clear()
    yield Watchdog
    Watchdog.clear()


@pytest.fixture
def runs_at_history_are_live(settings):
    """The test Prometheus history ends at ``EVAL_TIME`` (2026-01-01), long past: widen
    ``HMS_CLOCK_SKEW_SECONDS`` to reach it, so an API run ``at`` that time is a live run
    (it escalates) rather than a backfill, as it would be on the night it replays."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from tests.support.history import EVAL_TIME

    history = datetime.fromtimestamp(EVAL_TIME, tz=UTC)
    settings.HMS_CLOCK_SKEW_SECONDS = int((timezone.now() - history).total_seconds()) + 86400
