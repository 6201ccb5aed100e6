"""The baselines' queryset: scoping, and each baseline's latest run, data quality and age
annotated in the same statement (the pages and the API read them without one query each)."""

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from apm.models.access import ScopedQuerySet


class BaselineQuerySet(ScopedQuerySet):
    program_path = "program__"

    def with_latest_deviation(self):
        """Annotate ``latest_status``, ``latest_deviation_pct``, ``latest_evaluated_at``,
        ``latest_in_maintenance``.

        Latest = the newest live run by ``evaluated_at`` (backfills never count; a
        live run's ``at`` is never in the future, see ``apm.services.dated_run``).
        """
        # The reverse relation names the model: deviation.py imports this module.
        deviation = self.model._meta.get_field("deviations").related_model
        latest = (
            deviation.objects.live()
            .filter(baseline=OuterRef("pk"))
            .order_by("-evaluated_at", "-id")
        )
        return self.annotate(
            latest_status=Subquery(latest.values("status")[:1]),
            latest_deviation_pct=Subquery(latest.values("deviation_pct")[:1]),
            latest_evaluated_at=Subquery(latest.values("evaluated_at")[:1]),
            latest_in_maintenance=Subquery(latest.values("in_maintenance")[:1]),
        )

    def with_latest_quality(self):
        """Annotate ``latest_<figure>`` for each data-quality figure of the newest live run
        (``sample_count``, ``completeness``, ``newest_sample_at``, ``source``: apm.quality)."""
        deviation = self.model._meta.get_field("deviations").related_model
        latest = (
            deviation.objects.live()
            .filter(baseline=OuterRef("pk"))
            .order_by("-evaluated_at", "-id")
        )
        figures = ("sample_count", "completeness", "newest_sample_at", "source")
        return self.annotate(
            **{f"latest_{name}": Subquery(latest.values(name)[:1]) for name in figures}
        )

    def with_data_age(self):
        """Annotate ``newest_data_at``, ``newest_value`` and ``newest_completeness``: the newest
        sample of the newest live run that measured a value (its ``newest_sample_at``, else
        when it ran), that value and how complete its window was (``no_data`` and ``error``
        runs bring no data; see ``apm.signoff``)."""
        deviation = self.model._meta.get_field("deviations").related_model
        measured = (
            deviation.objects.live()
            .filter(baseline=OuterRef("pk"), actual__isnull=False)
            .order_by("-evaluated_at", "-id")
        )
        return self.annotate(
            newest_data_at=Subquery(
                measured.annotate(newest=Coalesce("newest_sample_at", "evaluated_at")).values(
                    "newest"
                )[:1]
            ),
            newest_value=Subquery(measured.values("actual")[:1]),
            newest_completeness=Subquery(measured.values("completeness")[:1]),
        )
