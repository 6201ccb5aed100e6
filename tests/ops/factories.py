"""Factories for OPS tests: plain functions, users by role, services from YAML text."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ops.metrics import ingest
from ops.services import register_service

SCANNER_YAML = (Path(settings.BASE_DIR) / "fixtures" / "scanner.ops.yaml").read_text()
OPS_PERMISSIONS = ("add_service", "change_service", "delete_service", "add_sample")


def user(username: str, *codenames: str) -> User:
    person = User.objects.create_user(username, f"{username}@example.org", "pw")
    if codenames:
        person.user_permissions.set(
            Permission.objects.filter(content_type__app_label="ops", codename__in=codenames)
        )
    return person


def staff_alice() -> User:
    """Operations staff: registers services and pushes metrics."""
    return user("staff_alice", *OPS_PERMISSIONS)


def viewer_bob() -> User:
    """Signed in, no OPS permission: reads only."""
    return user("viewer_bob")


def api_client(person: User | None = None) -> APIClient:
    client = APIClient()
    if person is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=person).key}")
    return client


def service_yaml(
    service_id: str = "DCA_Luggage_Scanner",
    *,
    threshold: float = 30,
    window_seconds: int = 300,
    metric: str = "queue_time_seconds",
    scrape_url: str | None = None,
    percentile: float | None = None,
) -> str:
    lines = [
        f"id: {service_id}",
        "owner: TSA",
        "sensors:",
        f"  - name: {metric}",
    ]
    if scrape_url:
        lines.append(f"    scrape_url: {scrape_url}")
    lines += [
        "slo:",
        f"  target: {metric}",
        f"  threshold: {threshold}",
        f"  window_seconds: {window_seconds}",
    ]
    if percentile is not None:
        lines.append(f"  percentile: {percentile}")
    return "\n".join(lines) + "\n"


def make_service(service_id: str = "DCA_Luggage_Scanner", **kwargs):
    return register_service(service_yaml(service_id, **kwargs))


def readings(service_id: str, values, *, end=None, step: float = 1.0, name="queue_time_seconds"):
    """Store ``values`` one ``step`` apart, the last at ``end`` (default now)."""
    end = end or timezone.now()
    count = len(values)
    samples = [
        {
            "service": service_id,
            "name": name,
            "value": value,
            "ts": (end - timedelta(seconds=step * (count - 1 - i))).isoformat(),
        }
        for i, value in enumerate(values)
    ]
    return ingest({"samples": samples}, now=end)
