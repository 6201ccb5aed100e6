import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _login(client, password):
    return client.post("/admin/login/", {"username": "admin_ada", "password": password})


def test_failed_logins_lock_the_account_from_that_address(client, admin_user, settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    for _ in range(3):
        assert _login(client, "wrong").status_code == 200  # the form with its error
    locked = _login(client, "pw")  # even the right password is refused now
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(settings.LOGIN_LOCKOUT_SECONDS)
    assert "_auth_user_id" not in client.session


def test_a_successful_login_resets_the_count(client, admin_user, settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    _login(client, "wrong")
    _login(client, "wrong")
    assert _login(client, "pw").status_code == 302
    client.logout()
    _login(client, "wrong")
    _login(client, "wrong")
    assert _login(client, "pw").status_code == 302


def test_another_address_is_not_locked_out(client, admin_user, settings):
    settings.LOGIN_FAILURES_ALLOWED = 2
    _login(client, "wrong")
    _login(client, "wrong")
    assert _login(client, "pw").status_code == 429
    other = client.post(
        "/admin/login/", {"username": "admin_ada", "password": "pw"}, REMOTE_ADDR="10.0.0.9"
    )
    assert other.status_code == 302
