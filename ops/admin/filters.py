"""Admin sidebar filters that list only what the user may see.

Django's ``RelatedFieldListFilter`` lists every row of the related table, so a
"by program" filter showed program staff the names of every other program.
``ScopedRelatedFilter`` lists, for ``list_filter = (("program", ScopedRelatedFilter),)``:

- related rows the user may see, when the related model's queryset knows
  (``visible_to(user)``, as APM's programs and baselines do);
- otherwise the related rows that rows of this admin's own queryset point at
  (so a filter is never wider than the list it filters).

Used by the APM and OPS admins alike (``apm`` may import ``ops``; not the reverse).
"""

from django.contrib import admin


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field, request, model_admin):
        related = field.related_model._default_manager.all()
        if hasattr(related, "visible_to"):
            allowed = related.visible_to(request.user).values("pk")
        else:
            allowed = (
                model_admin.get_queryset(request)
                .order_by()
                .values(f"{self.field_path}__pk")
                .distinct()
            )
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, ordering=ordering, limit_choices_to={"pk__in": allowed}
        )
