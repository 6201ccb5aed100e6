"""Badges of public programs (shields.io endpoint JSON and an SVG), 404 for private ones."""

import xml.etree.ElementTree as ET

import pytest

from tests import factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_track():
    program = pf.program(owner_group=None, code="fast-track", public=True)
    wait = pf.ledger_baseline(program, name="avg_wait_days", target_value=30)
    approvals = pf.ledger_baseline(program, name="approval_rate", target_value=30)
    pf.deviation(wait, 25.0)
    pf.deviation(approvals, 45.0, days_ago=1)
    pf.deviation(approvals, 20.0)  # the latest verdict counts
    return program


def test_json_follows_the_shields_endpoint_schema(client, fast_track):
    response = client.get("/public/badges/fast-track.json")
    assert response.status_code == 200
    assert response.json() == {
        "schemaVersion": 1,
        "label": "fast-track promises",
        "message": "2 of 2 kept",
        "color": "brightgreen",
        "cacheSeconds": 300,
    }
    assert "max-age=300" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]


def test_the_svg_is_well_formed_and_says_the_same(client, fast_track):
    pf.deviation(fast_track.baselines.get(name="approval_rate"), 50.0)
    response = client.get("/public/badges/fast-track.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["fast-track promises", "1 of 2 kept"]
    assert "max-age=300" in response["Cache-Control"]


def test_red_and_unmeasured(client):
    program = pf.program(owner_group=None, code="ssa", public=True)
    assert client.get("/public/badges/ssa.json").json()["message"] == "not measured yet"
    for i in range(3):
        pf.deviation(pf.ledger_baseline(program, name=f"b{i}", target_value=10), 50.0)
    assert client.get("/public/badges/ssa.json").json()["color"] == "red"


@pytest.mark.parametrize("path", ["/public/badges/secret.json", "/public/badges/secret.svg"])
def test_a_private_program_has_no_badge(client, path):
    program = pf.program(owner_group=None, code="secret", public=False)
    pf.deviation(pf.ledger_baseline(program, name="x", target_value=10), 5.0)
    assert client.get(path).status_code == 404
    assert client.get(path.replace("secret", "no-such-program")).status_code == 404
