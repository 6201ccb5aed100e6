from django.contrib import admin


class ReadOnlyMixin:
    """For rows the app's services write and people only read: no add, no change.

    ``deletable = False`` forbids delete too (evidence: audit entries, incidents,
    notifications); otherwise delete follows the model permission.
    """

    deletable = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
