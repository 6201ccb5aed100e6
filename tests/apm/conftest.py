import pytest
from rest_framework.test import APIClient

from tests.apm import factories as f


@pytest.fixture
def housing_staff(db):
    return f.group("Housing staff")


@pytest.fixture
def staff_alice(housing_staff):
    return f.staff_user("staff_alice", housing_staff)


@pytest.fixture
def staff_dave(db):
    """Staff, but of another program's group."""
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
