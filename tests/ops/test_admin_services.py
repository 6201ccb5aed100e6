"""The admin: register/update a service by uploading .ops.yaml, refusals with line, key rotation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ops.models import IngestKey, Service, ServiceVersion
from ops.models.service import hash_ingest_key
from tests.factories import SCANNER_YAML, make_service, viewer_bob

pytestmark = pytest.mark.django_db
REGISTER = "/admin/ops/service/register/"


@pytest.fixture
def admin_web(client, admin_user):
    client.force_login(admin_user)
    return client


def upload(client, text, name="scanner.ops.yaml"):
    return client.post(REGISTER, {"file": SimpleUploadedFile(name, text.encode())}, follow=True)


def test_add_button_leads_to_the_upload_form(admin_web):
    response = admin_web.get("/admin/ops/service/add/", follow=True)
    assert response.redirect_chain[-1][0] == REGISTER
    assert b'type="file"' in response.content


def test_upload_registers_the_seed_file_and_shows_the_key_once(admin_web):
    response = upload(admin_web, SCANNER_YAML)
    assert response.redirect_chain[-1][0] == "/admin/ops/service/DCA_Luggage_Scanner/change/"
    messages = [str(m) for m in response.context["messages"]]
    key = messages[0].rsplit(" ", 1)[1]
    assert IngestKey.objects.get().key_hash == hash_ingest_key(key)
    again = admin_web.get("/admin/ops/service/DCA_Luggage_Scanner/change/")
    assert key.encode() not in again.content


def test_upload_of_a_new_version_keeps_the_previous_one(admin_web):
    upload(admin_web, SCANNER_YAML)
    response = upload(admin_web, SCANNER_YAML.replace("owner: TSA", "owner: CBP"))
    assert "Updated DCA_Luggage_Scanner to version 2" in str(
        next(iter(response.context["messages"]))
    )
    assert ServiceVersion.objects.get().document["owner"] == "TSA"


def test_pasted_malformed_yaml_is_refused_with_field_and_line(admin_web):
    response = admin_web.post(
        REGISTER, {"text": SCANNER_YAML.replace("threshold: 30", "threshold: thirty")}
    )
    assert response.status_code == 200
    assert "slo.threshold: line 8: must be a number, got &#x27;thirty&#x27;" in (
        response.content.decode()
    )
    assert Service.objects.count() == 0


def test_rotate_action_revokes_the_old_key_and_shows_the_new_one(admin_web):
    old_key = make_service().ingest_key
    response = admin_web.post(
        "/admin/ops/service/",
        {"action": "rotate_ingest_key", "_selected_action": ["DCA_Luggage_Scanner"]},
        follow=True,
    )
    message = str(next(iter(response.context["messages"])))
    new_key = message.rsplit(" ", 1)[1]
    assert new_key != old_key
    live = IngestKey.objects.get(revoked_at__isnull=True)
    assert live.key_hash == hash_ingest_key(new_key)
    assert IngestKey.objects.filter(revoked_at__isnull=False).count() == 1


def test_changelist_query_count_does_not_grow_with_services(
    admin_web, django_assert_max_num_queries
):
    for i in range(6):
        make_service(f"Scanner_{i}")
    with django_assert_max_num_queries(8):
        response = admin_web.get("/admin/ops/service/")
    assert response.status_code == 200
    assert b"Scanner_5" in response.content


def test_staff_without_permission_cannot_register(client):
    bob = viewer_bob()
    bob.is_staff = True
    bob.save()
    client.force_login(bob)
    assert client.get(REGISTER).status_code == 403
    assert client.post(REGISTER, {"text": SCANNER_YAML}).status_code == 403
    assert Service.objects.count() == 0


def test_an_oversize_upload_is_refused_by_the_loader_and_saves_nothing(admin_web):
    response = admin_web.post(
        REGISTER, {"file": SimpleUploadedFile("big.ops.yaml", b"a: '" + b"x" * 70_000 + b"'\n")}
    )
    assert response.status_code == 200
    assert "document: document is larger than 65536 bytes" in response.content.decode()
    assert Service.objects.count() == 0
