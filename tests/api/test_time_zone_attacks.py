"""Time zone names are user text that reaches the filesystem (``ZoneInfo`` opens a file
named by it): every variant an attacker would try is a clear 400 or form error naming
the field, never a 500, and nothing is written."""

import json

import pytest

from apm.models import Baseline
from hms_site import timezones
from ops.models import Schedule
from tests import factories as f
from tests.ops.test_schedules_admin import _inline

pytestmark = pytest.mark.django_db

HOSTILE = [
    "x" * 300,  # over the file system's name limit: OSError "File name too long"
    "a/" * 200 + "b",  # over the path limit
    '{"\\u000f": {}, "Infinity": [1e16]}' * 20,  # what the fuzzer sent
    "../../../../etc/passwd",
    "/etc/localtime",
    "Europe/../../../etc/hostname",
    "UTC\x00",
    "\ud800",  # a lone surrogate: not encodable as a file name
    "",
    " ",
    "Mars/Base",
    ".",
    "..",
    "zoneinfo",  # a directory of the tz database, not a zone
    "America",
]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_no_hostile_name_is_a_zone(name):
    assert timezones.zone(name) is None


def test_real_zones_still_are():
    longest = "America/Argentina/ComodRivadavia"
    assert str(timezones.zone(longest)) == longest
    assert str(timezones.zone("UTC")) == "UTC"


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_a_baseline_with_a_hostile_period_tz_is_a_400_naming_it(admin_client_token, name):
    program = f.program()
    before = Baseline.objects.count()
    body = {"program": program.pk, "name": "q", "target_value": 3, "probe_kind": "sql",
            "probe_query": "SELECT 1", "period": "quarter", "period_tz": name}  # fmt: skip
    # json.dumps escapes a lone surrogate as \ud800, as a hostile client would send it
    response = admin_client_token.post(
        "/api/v1/baselines/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert "period_tz" in response.json()
    assert Baseline.objects.count() == before


# a form can't carry a NUL or a lone surrogate (the browser's UTF-8); blank is "required"
FORM_HOSTILE = [n for n in HOSTILE if n.strip() and "\x00" not in n and n != "\ud800"]


@pytest.mark.parametrize("name", FORM_HOSTILE, ids=range(len(FORM_HOSTILE)))
def test_a_schedule_with_a_hostile_time_zone_is_a_form_error(client, admin_user, name):
    client.force_login(admin_user)
    data = {"name": "tsa-primary", "timezone": name, "shift_hours": "8",
            "handoff": "07:00", "starts_on": "2026-12-01",
            **_inline("participants", []), **_inline("overrides", [])}  # fmt: skip
    answer = client.post("/admin/ops/schedule/add/", data)
    assert answer.status_code == 200
    errors = answer.context_data["adminform"].form.errors
    assert list(errors) == ["timezone"], errors  # "Unknown time zone", or too long
    assert not Schedule.objects.exists()
