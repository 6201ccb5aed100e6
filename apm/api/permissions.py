from rest_framework.permissions import SAFE_METHODS, BasePermission

from apm.models.access import may_write


class ProgramAccess(BasePermission):
    """Reads follow the scoped queryset; writes need the program's owner group (or superuser).

    Objects outside the user's scope are already 404 (the viewsets' querysets
    are ``visible_to(user)``); this answers 403 for visible-but-not-editable.
    A resource with its own rule for "may this user change this object" sets
    ``may_edit`` (a function of user and object).
    """

    message = "Only staff of the program's owner group may change it."
    may_edit = None

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or may_write(user)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        if self.may_edit is not None:
            return type(self).may_edit(request.user, obj)
        program = getattr(obj, "program", obj)
        return program.editable_by(request.user)
