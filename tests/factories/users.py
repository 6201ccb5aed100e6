"""People by role and API clients for them."""

from django.contrib.auth.models import Group, Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

OPS_PERMISSIONS = ("add_service", "change_service", "delete_service", "add_sample")


def make_user(username: str, *, staff: bool = False, perms: tuple[str, ...] = (), groups=()):
    """A user with password ``pw``; ``perms`` as ``"app_label.codename"``."""
    user = User.objects.create_user(username, f"{username}@example.org", "pw", is_staff=staff)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    user.groups.add(*groups)
    return user


def group(name: str, *codenames: str) -> Group:
    found = Group.objects.get_or_create(name=name)[0]
    found.permissions.add(*Permission.objects.filter(codename__in=codenames))
    return found


def staff_user(username: str, *groups: Group) -> User:
    return make_user(username, staff=True, groups=groups)


def viewer_user(username: str) -> User:
    """Signed in, may view programs (the ``Viewers`` group)."""
    viewers = group("Viewers")
    viewers.permissions.add(Permission.objects.get(codename="view_program"))
    return make_user(username, groups=[viewers])


def plain_user(username: str) -> User:
    return make_user(username)


def staff_alice() -> User:
    """Operations staff: registers services and pushes metrics."""
    return make_user("staff_alice", perms=tuple(f"ops.{p}" for p in OPS_PERMISSIONS))


def viewer_bob() -> User:
    """Signed in, no OPS permission: reads only."""
    return make_user("viewer_bob")


def api_client(person: User | None = None) -> APIClient:
    """An API client with ``person``'s token (anonymous without one)."""
    client = APIClient()
    if person is not None:
        token, _ = Token.objects.get_or_create(user=person)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
