import pytest

from tests.e2e.conftest import log_in, screenshot


@pytest.mark.services
def test_staff_log_in_to_the_admin_in_a_real_browser(page, django_user_model):
    django_user_model.objects.create_superuser("admin_ada", "ada@example.org", "s3cret-pass")
    log_in(page, "admin_ada", "s3cret-pass")
    assert page.locator("#site-name").inner_text() == "HMS Monitor"
    assert screenshot(page, "admin-index").stat().st_size > 1000
