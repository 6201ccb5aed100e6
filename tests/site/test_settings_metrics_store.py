"""The prometheus metrics store's settings: a bad or missing value stops start-up naming it."""

import pytest

from tests.site.test_settings_env import _manage_check

PROM = {"DEBUG": "1", "HMS_METRICS_STORE": "prometheus"}
WRITE = "http://127.0.0.1:9090/api/v1/write"
QUERY = "http://127.0.0.1:9090"


@pytest.mark.parametrize(
    "env,named",
    [
        ({**PROM, "HMS_METRICS_QUERY_URL": QUERY}, "HMS_REMOTE_WRITE_URL must be set"),
        ({**PROM, "HMS_REMOTE_WRITE_URL": WRITE}, "HMS_METRICS_QUERY_URL must be set"),
        ({**PROM, "HMS_REMOTE_WRITE_URL": "ftp://h/api/v1/write", "HMS_METRICS_QUERY_URL": QUERY},
         "HMS_REMOTE_WRITE_URL='ftp://h/api/v1/write': scheme"),
        ({**PROM, "HMS_REMOTE_WRITE_URL": "http://127.0.0.1:9090", "HMS_METRICS_QUERY_URL": QUERY},
         "HMS_REMOTE_WRITE_URL='http://127.0.0.1:9090': give the write endpoint itself"),
        ({**PROM, "HMS_REMOTE_WRITE_URL": WRITE, "HMS_METRICS_QUERY_URL": "http://h:port"},
         "HMS_METRICS_QUERY_URL='http://h:port' is not a valid URL"),
        ({**PROM, "HMS_REMOTE_WRITE_URL": WRITE, "HMS_METRICS_QUERY_URL": QUERY,
          "HMS_PROMETHEUS_TIMEOUT_SECONDS": "0"}, "HMS_PROMETHEUS_TIMEOUT_SECONDS=0.0"),
        ({"DEBUG": "1", "HMS_METRICS_STORE": "influx"}, "HMS_METRICS_STORE='influx'"),
    ],
)  # fmt: skip
def test_bad_prometheus_store_settings_stop_start_up_naming_the_variable(env, named):
    result = _manage_check(**env)
    assert result.returncode != 0
    assert named in result.stderr


def test_the_query_url_defaults_to_prometheus_url_and_good_settings_start():
    result = _manage_check(**PROM, HMS_REMOTE_WRITE_URL=WRITE, PROMETHEUS_URL=QUERY)
    assert result.returncode == 0, result.stderr
