"""Nothing but numbers leaves any probe: PromQL results and errors carry no label or message text.

A Prometheus peer on loopback answers with series whose labels hold a secret, and with
errors whose message quotes it; the deviation's evidence keeps the number only.
"""

import json

import pytest

from apm import services
from apm.models import Deviation
from tests import factories as f
from tests.support.http_server import LoopbackServer, Reply

pytestmark = pytest.mark.django_db
SECRET = "hms-label-secret-0c1d2e3f"


def vector(*values):
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"__name__": "up", "token": SECRET}, "value": [1733000000.5, v]}
                for v in values
            ],
        },
    }


@pytest.mark.parametrize(
    ("reply", "status", "actual"),
    [
        (Reply(200, vector("37.2")), Deviation.Status.BREACH, 37.2),
        (Reply(200, vector("1", "2")), Deviation.Status.ERROR, None),
        (Reply(200, vector("NaN")), Deviation.Status.NO_DATA, None),
        (Reply(200, vector(SECRET)), Deviation.Status.ERROR, None),
        (
            Reply(200, {"status": "success", "data": {"resultType": "string",
                                                     "result": [1733000000, SECRET]}}),
            Deviation.Status.ERROR, None,
        ),
        (
            Reply(422, {"status": "error", "errorType": "execution",
                        "error": "found duplicate series for token=" + repr(SECRET)}),
            Deviation.Status.ERROR, None,
        ),
        (Reply(200, f"<html>{SECRET}</html>".encode()), Deviation.Status.ERROR, None),
        (Reply(503, f"upstream {SECRET}".encode()), Deviation.Status.ERROR, None),
    ],
)  # fmt: skip
def test_promql_evidence_keeps_the_number_never_labels_or_messages(settings, reply, status, actual):
    with LoopbackServer(lambda request: reply) as prometheus:
        settings.PROMETHEUS_URL = prometheus.url
        baseline = f.baseline(probe_kind="promql", probe_query="up", target_value=30, clean=False)
        deviation = services.run_baseline(baseline)
    assert deviation.status == status
    assert deviation.actual == actual
    assert SECRET not in json.dumps(deviation.evidence)
    if actual is not None:
        assert deviation.evidence["raw_result"] == {
            "resultType": "vector",
            "result": [{"value": [1733000000.5, "37.2"]}],
        }
