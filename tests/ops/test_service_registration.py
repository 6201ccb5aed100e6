"""Registering services from .ops.yaml: API (YAML, JSON), command; refusals name line and field."""

import pytest
from django.core.management import CommandError, call_command

from ops.models import SLO, IngestKey, Sensor, Service, ServiceVersion
from ops.models.service import hash_ingest_key
from tests.factories import SCANNER_YAML, api_client, staff_alice, viewer_bob

pytestmark = pytest.mark.django_db

MALFORMED = {
    "bad indentation": (
        SCANNER_YAML.replace("  threshold: 30", " threshold: 30"),
        "document",
        "line 8",
    ),
    "unknown key": (
        SCANNER_YAML.replace("  window_seconds: 300", "  window_seconds: 300\n  colour: red"),
        "slo.colour",
        "line 10",
    ),
    "threshold thirty": (
        SCANNER_YAML.replace("threshold: 30", "threshold: thirty"),
        "slo.threshold",
        "line 8",
    ),
}


def post_yaml(client, text, path="/api/v1/services/", method="post"):
    return getattr(client, method)(path, data=text.encode(), content_type="application/yaml")


def test_seed_scanner_yaml_registers_unchanged_through_the_api():
    response = post_yaml(api_client(staff_alice()), SCANNER_YAML)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == "DCA_Luggage_Scanner"
    assert body["owner"] == "TSA"
    assert body["slo"]["target"] == "queue_time_seconds"
    assert body["slo"]["threshold"] == 30
    assert body["slo"]["window_seconds"] == 300
    assert body["slo"]["percentile"] == 95
    assert body["slo"]["state"] == "no_data"
    assert [s["name"] for s in body["sensors"]] == ["queue_time_seconds"]
    assert body["sensors"][0]["scrape_url"] == "http://scanner.local/metrics"
    assert body["playbook"][2] == {"always": None, "log_to": "HMS-DTA"}
    key = body["ingest_key"]
    assert key.startswith("hmsi_")
    stored = IngestKey.objects.get(service_id="DCA_Luggage_Scanner")
    assert stored.key_hash == hash_ingest_key(key) and key not in stored.key_hash
    assert Service.objects.get().source == SCANNER_YAML


def test_the_same_shape_as_json_registers_too():
    document = {
        "id": "Json_Service",
        "owner": "TSA",
        "sensors": [{"name": "latency_seconds"}],
        "slo": {"target": "latency_seconds", "threshold": 2, "window_seconds": 60},
        "playbook": [{"if": "slo_breach", "then": "page tsa_ops"}],
    }
    response = api_client(staff_alice()).post("/api/v1/services/", document, format="json")
    assert response.status_code == 201, response.json()
    assert SLO.objects.get(service_id="Json_Service").threshold == 2


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_copy_is_refused_with_line_and_field_and_nothing_changes(case):
    text, field, line = MALFORMED[case]
    client = api_client(staff_alice())
    assert post_yaml(client, SCANNER_YAML).status_code == 201
    before = Service.objects.get()
    response = post_yaml(client, text)
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert errors[field][0].startswith(line), errors
    after = Service.objects.get()
    assert (after.version, after.document) == (before.version, before.document)
    assert ServiceVersion.objects.count() == 0
    assert SLO.objects.get().threshold == 30


def test_registering_the_same_id_again_updates_and_keeps_the_previous_version():
    client = api_client(staff_alice())
    assert post_yaml(client, SCANNER_YAML).status_code == 201
    updated = SCANNER_YAML.replace("threshold: 30", "threshold: 25")
    response = post_yaml(client, updated)
    assert response.status_code == 200
    assert response.json()["ingest_key"] is None  # keys are shown once, at creation
    assert response.json()["version"] == 2
    assert SLO.objects.get().threshold == 25
    previous = ServiceVersion.objects.get()
    assert previous.version == 1
    assert previous.source == SCANNER_YAML
    assert previous.document["slo"]["threshold"] == 30


def test_registering_an_identical_document_changes_nothing():
    client = api_client(staff_alice())
    post_yaml(client, SCANNER_YAML)
    response = post_yaml(client, SCANNER_YAML)
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert ServiceVersion.objects.count() == 0


def test_put_updates_the_named_service_and_refuses_another_id():
    client = api_client(staff_alice())
    post_yaml(client, SCANNER_YAML)
    path = "/api/v1/services/DCA_Luggage_Scanner/"
    response = post_yaml(client, SCANNER_YAML.replace("owner: TSA", "owner: CBP"), path, "put")
    assert response.status_code == 200
    assert Service.objects.get().owner == "CBP"
    other = post_yaml(client, SCANNER_YAML, "/api/v1/services/Other_Service/", "put")
    assert other.status_code == 400
    assert "id" in other.json()


def test_removed_sensor_is_dropped_and_kept_sensor_keeps_its_scrape_history():
    client = api_client(staff_alice())
    two = SCANNER_YAML.replace(
        "sensors:\n", "sensors:\n  - name: belt_speed\n    scrape_url: http://scanner.local/belt\n"
    )
    post_yaml(client, two)
    Sensor.objects.filter(name="queue_time_seconds").update(last_error="connection refused")
    post_yaml(client, SCANNER_YAML)
    assert list(Sensor.objects.values_list("name", "last_error")) == [
        ("queue_time_seconds", "connection refused")
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &x [1]\nb: *x\n", "anchors"),
        ("a: " + "[" * 60 + "]" * 60 + "\n", "nested deeper"),
        ("a: '" + "x" * 70_000 + "'\n", "larger than"),
        ("", "empty"),
        ("a: !!python/object/apply:os.system ['true']\n", "is not allowed"),
        ("a: !!python/name:os.system ''\n", "could not determine a constructor"),
    ],
    ids=["alias", "deep", "huge", "empty", "python-tag-on-list", "python-tag"],
)
def test_hostile_yaml_is_refused_cleanly(text, fragment):
    response = post_yaml(api_client(staff_alice()), text)
    assert response.status_code == 400
    assert fragment in " ".join(response.json()["document"])
    assert Service.objects.count() == 0


def test_target_must_be_a_declared_sensor():
    text = SCANNER_YAML.replace("  target: queue_time_seconds", "  target: belt_speed")
    response = post_yaml(api_client(staff_alice()), text)
    assert response.status_code == 400
    assert response.json()["slo.target"][0].startswith("line 7:")


def test_viewer_reads_services_but_cannot_register_or_delete():
    post_yaml(api_client(staff_alice()), SCANNER_YAML)
    bob = api_client(viewer_bob())
    assert bob.get("/api/v1/services/").status_code == 200
    assert post_yaml(bob, SCANNER_YAML.replace("TSA", "Bob")).status_code == 403
    assert bob.delete("/api/v1/services/DCA_Luggage_Scanner/").status_code == 403
    assert api_client().get("/api/v1/services/").status_code in (401, 403)
    assert Service.objects.get().owner == "TSA"


def test_service_list_query_count_does_not_grow_with_services(django_assert_num_queries):
    client = api_client(staff_alice())
    for i in range(5):
        post_yaml(client, SCANNER_YAML.replace("DCA_Luggage_Scanner", f"Scanner_{i}"))
    with django_assert_num_queries(5):  # token+user, count, services, sensors, slos
        response = client.get("/api/v1/services/")
    assert response.json()["count"] == 5


def test_ops_register_command_registers_and_refuses_with_line(tmp_path, capsys):
    path = tmp_path / "scanner.ops.yaml"
    path.write_text(SCANNER_YAML)
    call_command("ops_register", str(path))
    out = capsys.readouterr().out
    assert "registered DCA_Luggage_Scanner" in out
    assert "ingest key (shown once): hmsi_" in out
    bad = tmp_path / "bad.ops.yaml"
    bad.write_text(SCANNER_YAML.replace("threshold: 30", "threshold: thirty"))
    with pytest.raises(CommandError, match=r"slo\.threshold: line 8: must be a number"):
        call_command("ops_register", str(bad))
    assert SLO.objects.get().threshold == 30
    with pytest.raises(CommandError, match="No such file"):
        call_command("ops_register", str(tmp_path / "missing.yaml"))


def test_deeply_nested_json_is_refused_cleanly():
    client = api_client(staff_alice())
    shallow_enough_for_json = '{"id": "X", "owner": ' + "[" * 50 + "]" * 50 + "}"
    response = client.post(
        "/api/v1/services/", data=shallow_enough_for_json, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested deeper" in response.json()["document"][0]
    bomb = "[" * 30_000 + "]" * 30_000  # under the size cap: the parser must refuse the depth
    response = client.post("/api/v1/services/", data=bomb, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested deeper than 64 levels"}
    assert Service.objects.count() == 0


def test_registration_update_and_key_rotation_are_audited_with_the_actor():
    from ops import audit
    from ops.models import AuditEntry

    client = api_client(staff_alice())
    post_yaml(client, SCANNER_YAML)
    post_yaml(client, SCANNER_YAML.replace("threshold: 30", "threshold: 25"))
    post_yaml(client, SCANNER_YAML.replace("threshold: 30", "threshold: thirty"))  # refused
    new_key = client.post("/api/v1/services/DCA_Luggage_Scanner/rotate-key/").json()["ingest_key"]
    entries = list(AuditEntry.objects.filter(topic="ops.service").order_by("id"))
    assert [(e.actor, e.payload["action"]) for e in entries] == [
        ("staff_alice", "registered"),
        ("staff_alice", "updated"),
        ("staff_alice", "ingest_key_rotated"),
    ]
    assert entries[1].payload["document"]["slo"]["threshold"] == 25
    assert new_key not in str(entries[2].payload)  # only a hint of the key is kept
    assert entries[2].payload["hint"] == new_key[:10]
    assert audit.verify().ok


def test_model_clean_refuses_an_invalid_stored_document():
    from django.core.exceptions import ValidationError

    registration = post_yaml(api_client(staff_alice()), SCANNER_YAML).json()
    service = Service.objects.get(pk=registration["id"])
    service.full_clean()  # the registered document is valid as stored
    service.source = SCANNER_YAML.replace("threshold: 30", "threshold: thirty")
    with pytest.raises(ValidationError, match=r"slo\.threshold: line 8: must be a number"):
        service.full_clean()
    service.source = SCANNER_YAML.replace("DCA_Luggage_Scanner", "Other")
    with pytest.raises(ValidationError, match="expected 'DCA_Luggage_Scanner'"):
        service.full_clean()


def test_deleting_a_service_is_audited_with_its_last_definition():
    from ops.models import AuditEntry

    client = api_client(staff_alice())
    post_yaml(client, SCANNER_YAML)
    assert client.delete("/api/v1/services/DCA_Luggage_Scanner/").status_code == 204
    assert Service.objects.count() == 0 and SLO.objects.count() == 0
    entry = AuditEntry.objects.filter(topic="ops.service").latest("id")
    assert (entry.actor, entry.payload["action"]) == ("staff_alice", "deleted")
    assert entry.payload["document"]["id"] == "DCA_Luggage_Scanner"


@pytest.mark.parametrize("body", ['"id: X"', "[1, 2]", "42", '"\\udb4a"'])
def test_a_json_body_that_is_not_an_object_is_a_400(body):
    client = api_client(staff_alice())
    for method, path in (("post", "/api/v1/services/"), ("put", "/api/v1/services/X/")):
        response = getattr(client, method)(path, data=body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert "not a mapping" in response.json()["document"][0]


def test_yaml_text_with_lone_surrogates_is_refused():
    from ops.servicedef import DefinitionError, parse_definition

    with pytest.raises(DefinitionError, match="not valid Unicode"):
        parse_definition("id: \udb4a\n")
