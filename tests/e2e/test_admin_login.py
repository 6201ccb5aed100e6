import pytest

from tests.e2e.conftest import log_in, screenshot


@pytest.mark.services
def test_staff_log_in_to_the_admin_in_a_real_browser(page, django_user_model):
    django_user_model.objects.create_superuser("admin_ada", "ada@example.org", "s3cret-pass")
    log_in(page, "admin_ada", "s3cret-pass")
    assert page.locator("#site-name").inner_text() == "HMS Monitor"
    assert screenshot(page, "admin-index").stat().st_size > 1000


@pytest.mark.services
def test_api_docs_render_offline_under_the_content_security_policy(page, django_user_model):
    django_user_model.objects.create_superuser("admin_ada", "ada@example.org", "s3cret-pass")
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security" in msg.text else None,
    )
    log_in(page, "admin_ada", "s3cret-pass")
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "HMS Monitor API" in page.locator(".swagger-ui .info .title").inner_text()
    assert violations == []
    screenshot(page, "api-docs")
