"""Factories and users for the audit vault, channel and outbox tests (plain functions)."""

from contextlib import contextmanager

from celery.signals import task_postrun
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ops.models import Channel


def make_user(username: str, *, staff: bool = False, perms: tuple[str, ...] = ()):
    user = get_user_model().objects.create_user(username, f"{username}@example.org", "pw")
    user.is_staff = staff
    user.save()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def api_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def make_channel(name: str = "tsa_ops", kind: str = "slack", target: str = "#tsa_ops", **extra):
    channel = Channel(name=name, kind=kind, target=target, **extra)
    channel.full_clean()
    channel.save()
    return channel


@contextmanager
def recorded_deliveries():
    """What each ``send_notification`` run returned, in order (the worker runs in this process).

    Waiting on these instead of polling the database keeps the test thread off
    SQLite's shared-cache test database while the worker writes to it.
    """
    results = []

    def on_postrun(sender=None, retval=None, **kwargs):
        if sender is not None and sender.name == "ops.outbox.tasks.send_notification":
            results.append(retval)

    task_postrun.connect(on_postrun, weak=False)
    try:
        yield results
    finally:
        task_postrun.disconnect(on_postrun)


def subprocess_database_url() -> str:
    """A DATABASE_URL for a subprocess (worker, manage.py) that opens this test database."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"
