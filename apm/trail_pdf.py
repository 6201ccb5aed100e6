"""The trail report as a PDF: the printable page's own HTML, laid out by WeasyPrint.

WeasyPrint needs Pango (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``; ``.ci/run`` and
the Dockerfile install them). Without it the report still prints from the browser and
the PDF link answers 503 saying what is missing. The renderer fetches nothing but this
project's own static files: any other URL in the page (none is expected, and user text
is escaped by the template) is refused, so rendering never leaves the machine.
"""

from __future__ import annotations

from django.contrib.staticfiles import finders

STATIC_PREFIX = "/static/"


class PdfUnavailable(RuntimeError):
    """The PDF renderer cannot run here (WeasyPrint or Pango missing)."""


def _static_path(url: str) -> str:
    """The project static file ``url`` names (any host: nothing is fetched over the
    network), or ValueError."""
    path = url.split("://", 1)[-1]
    path = path[path.index("/") :] if "/" in path else path
    path = path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith(STATIC_PREFIX) or ".." in path.split("/"):
        raise ValueError(f"the PDF renderer fetches only static files, not {url!r}")
    found = finders.find(path.removeprefix(STATIC_PREFIX))
    if not found:
        raise ValueError(f"no static file {path!r}")
    return found


def _fetcher():
    from weasyprint.urls import URLFetcher

    class StaticOnly(URLFetcher):
        """Serves the project's static files from disk and refuses every other URL."""

        def fetch(self, url, headers=None):
            return super().fetch(f"file://{_static_path(url)}", headers)

    return StaticOnly(allowed_protocols={"file"}, allow_redirects=False)


def render(html: str, base_url: str) -> bytes:
    """``html`` (the report page) as PDF bytes; ``PdfUnavailable`` without WeasyPrint."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango's libraries are missing
        raise PdfUnavailable(
            f"PDF export needs WeasyPrint and Pango (apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0): {exc}"
        ) from exc
    return HTML(string=html, base_url=base_url, url_fetcher=_fetcher()).write_pdf()
