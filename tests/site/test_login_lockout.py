"""Login lockout: one counter per username and one per address, on every path that logs in.

The refusal sits in the authentication backend (hms_site/auth_backends.py), so
/login/ and /admin/login/ share the counters: guessing on one locks the other.
"""

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.test import RequestFactory

from hms_site import throttle
from hms_site.env import env_networks

pytestmark = pytest.mark.django_db

LOGIN_PATHS = ["/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _login(client, path, username, password, address="127.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(("guessed_on", "then_on"), [LOGIN_PATHS, LOGIN_PATHS[::-1]])
def test_ten_wrong_passwords_on_one_login_page_lock_the_username_on_the_other(
    client, admin_user, guessed_on, then_on
):
    for _ in range(10):
        assert _login(client, guessed_on, "admin_ada", "wrong").status_code in (200, 429)
    locked = _login(client, then_on, "admin_ada", "pw", address="10.9.9.9")  # other address too
    assert locked.status_code == 429
    assert locked["Retry-After"] == "300"
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert not _signed_in(client)


def test_the_username_is_locked_at_the_allowed_count_not_before(client, admin_user, settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    for path in ("/login/", "/admin/login/", "/login/"):
        assert _login(client, path, "admin_ada", "wrong").status_code == 200  # form + error
    assert _login(client, "/admin/login/", "admin_ada", "pw").status_code == 429


def test_one_address_guessing_many_usernames_is_locked_for_every_username(
    client, admin_user, django_user_model, settings
):
    settings.LOGIN_ADDRESS_FAILURES_ALLOWED = 4
    django_user_model.objects.create_user("viewer_bob", password="bob-pw")
    for i, path in enumerate(LOGIN_PATHS * 2):
        _login(client, path, f"guess_{i}", "wrong", address="203.0.113.7")
    assert _login(client, "/login/", "viewer_bob", "bob-pw", address="203.0.113.7").status_code == (
        429
    )
    assert _login(
        client, "/admin/login/", "admin_ada", "pw", address="203.0.113.7"
    ).status_code == (429)
    # the accounts themselves are not locked: from another address they sign in
    assert _login(
        client, "/login/", "viewer_bob", "bob-pw", address="198.51.100.2"
    ).status_code == (302)


def test_behind_a_trusted_proxy_each_client_address_counts_alone(
    client, admin_user, django_user_model, settings
):
    settings.LOGIN_ADDRESS_FAILURES_ALLOWED = 2
    settings.HMS_TRUSTED_PROXIES = env_networks("HMS_TEST_UNSET_VARIABLE", "127.0.0.0/8")[0]
    django_user_model.objects.create_user("viewer_bob", password="bob-pw")

    def via_proxy(username, password, forwarded):
        return client.post(
            "/login/",
            {"username": username, "password": password},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    # the attacker writes its own X-Forwarded-For; the proxy appends the real address
    via_proxy("guess_1", "wrong", "1.1.1.1, 203.0.113.7")
    via_proxy("guess_2", "wrong", "2.2.2.2, 203.0.113.7")
    assert via_proxy("viewer_bob", "bob-pw", "3.3.3.3, 203.0.113.7").status_code == 429
    assert via_proxy("viewer_bob", "bob-pw", "198.51.100.2").status_code == 302


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(client, admin_user, settings):
    settings.LOGIN_ADDRESS_FAILURES_ALLOWED = 2
    for i in range(2):
        client.post(
            "/login/",
            {"username": f"guess_{i}", "password": "wrong"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
    assert _login(client, "/login/", "admin_ada", "pw", address="203.0.113.7").status_code == 429


def test_the_lockout_answer_is_the_same_for_a_user_that_does_not_exist(client, admin_user):
    answers = {}
    for username in ("admin_ada", "nobody_at_all"):
        for _ in range(5):
            _login(client, "/login/", username, "wrong", address=f"10.0.0.{len(answers) + 1}")
        answers[username] = _login(
            client, "/login/", username, "wrong", address=f"10.0.0.{len(answers) + 1}"
        )
    real, ghost = answers["admin_ada"], answers["nobody_at_all"]
    assert real.status_code == ghost.status_code == 429
    assert real.content == ghost.content
    assert dict(real.items()).keys() == dict(ghost.items()).keys()


def test_a_successful_login_resets_the_username_count(client, admin_user, settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    _login(client, "/login/", "admin_ada", "wrong")
    _login(client, "/admin/login/", "admin_ada", "wrong")
    assert _login(client, "/login/", "admin_ada", "pw").status_code == 302
    client.logout()
    _login(client, "/admin/login/", "admin_ada", "wrong")
    _login(client, "/login/", "admin_ada", "wrong")
    assert _login(client, "/admin/login/", "admin_ada", "pw").status_code == 302


def test_username_case_does_not_buy_more_guesses(client, admin_user, settings):
    settings.LOGIN_FAILURES_ALLOWED = 2
    _login(client, "/login/", "ADMIN_ADA", "wrong")
    _login(client, "/login/", " Admin_Ada ", "wrong")
    assert _login(client, "/login/", "admin_ada", "pw").status_code == 429


def test_any_code_that_authenticates_meets_the_same_lockout(admin_user, settings):
    """authenticate() itself refuses: not only the two login views."""
    settings.LOGIN_FAILURES_ALLOWED = 2
    request = RequestFactory().post("/anything/", REMOTE_ADDR="192.0.2.1")
    assert authenticate(request, username="admin_ada", password="wrong") is None
    assert authenticate(None, username="admin_ada", password="wrong") is None
    assert authenticate(request, username="admin_ada", password="pw") is None  # locked
    assert getattr(request, throttle.LOCKED_ATTRIBUTE) is True
    assert authenticate(None, username="admin_ada", password="pw") is None


def test_the_counters_live_in_redis_when_redis_is_the_cache(
    client, admin_user, settings, redis_url
):
    """Every gunicorn worker must see the same counts: production's cache is Redis."""
    import redis

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "hms-lockout-test",
        }
    }
    settings.LOGIN_FAILURES_ALLOWED = 2
    peer = redis.Redis.from_url(redis_url)
    try:
        _login(client, "/login/", "admin_ada", "wrong")
        _login(client, "/admin/login/", "admin_ada", "wrong")
        keys = peer.keys("hms-lockout-test:*login-failures:user:*")
        assert len(keys) == 1 and int(peer.get(keys[0])) == 2
        assert _login(client, "/admin/login/", "admin_ada", "pw").status_code == 429
    finally:
        for key in peer.keys("hms-lockout-test:*"):
            peer.delete(key)


def test_login_without_next_lands_on_the_dashboard(client, admin_user):
    response = _login(client, "/login/", "admin_ada", "pw")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get(response["Location"]).status_code == 200


def test_login_with_next_still_goes_there(client, admin_user):
    response = client.post(
        "/login/?next=/war-room/", {"username": "admin_ada", "password": "pw", "next": "/war-room/"}
    )
    assert response["Location"] == "/war-room/"
