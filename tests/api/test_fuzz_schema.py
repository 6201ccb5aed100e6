"""Schemathesis against our own OpenAPI schema: every operation, authenticated as an admin.

Each operation gets a bounded number of generated requests (``HMS_FUZZ_EXAMPLES``,
default 15; the long run in docs/RELIABILITY.md uses more). A run passes with 0
server errors and 0 responses that break the schema.
"""

import os

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import checks

from hms_site.wsgi import application

# The goal: no 5xx, and every answer (status, content type, body) as the schema says.
# Not checked: whether a request the schema allows is accepted (business rules such
# as "target 0 is refused" reject some) or one it forbids is refused (an empty
# ``?since=`` is ignored, as django-filter does for every empty filter).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = int(os.environ.get("HMS_FUZZ_EXAMPLES", "15"))

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the WSGI app directly (not Django's test client), so, as
    the test client does, stop the end of each request from closing the connection
    that holds the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(db, django_user_model):
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_superuser("fuzz_admin", "fuzz@example.org", "pw")
    return Token.objects.create(user=user).key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_every_generated_request_within_its_schema(case, fuzz_token):
    case.call_and_validate(headers={"Authorization": f"Token {fuzz_token}"}, checks=CHECKS)
