"""Filter fields shared by every FilterSet (API and pages) in ops and apm.

They turn values the database cannot take into a 400 naming the parameter,
never a 500: ids outside the integer range, datetimes whose UTC offset
PostgreSQL refuses (it accepts at most ±15:59) or that overflow when moved to UTC.
"""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A primary key: a whole number from 1 to the largest 64-bit integer."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("This time is out of range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO-8601 time, compared in UTC."""

    field_class = UtcIsoDateTimeField
