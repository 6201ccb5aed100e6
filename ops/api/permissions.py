from rest_framework import permissions

from ops.api.authentication import IngestPrincipal


class CanIngestMetrics(permissions.BasePermission):
    """An ingest key (restricted to its service later), or a user with ``ops.add_sample``."""

    def has_permission(self, request, view):
        if isinstance(request.auth, IngestPrincipal):
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("ops.add_sample"))


class ServicePermissions(permissions.DjangoModelPermissions):
    """Any signed-in user reads; writing needs the model permission (add/change/delete)."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "PUT": ["%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }
