"""``hms_site.html.html`` is ``format_html``: the same escaping of every kind of argument."""

import pytest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from hms_site.html import html, html_join

VALUES = [
    '<script>alert("x")</script>&\'',
    mark_safe("<b>safe</b>"),
    format_html("<i>{}</i>", "<x>"),
    gettext_lazy("<lazy & translated>"),
    14,
    12.5,
    None,
    "",
    "plain ≤ ✔",
]


@pytest.mark.parametrize("value", VALUES)
def test_an_argument_is_escaped_as_format_html_escapes_it(value):
    got = html('<a title="{}">{}</a>', value, value)
    assert got == format_html('<a title="{}">{}</a>', value, value)
    assert isinstance(got, SafeString)


def test_rows_are_joined_as_format_html_join_joins_them():
    rows = [(value, value) for value in VALUES]
    assert html_join("<li>{}: {}</li>", rows) == format_html_join("", "<li>{}: {}</li>", rows)
