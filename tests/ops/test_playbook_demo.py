"""The demo: its scanner breaches and its playbook runs in dry-run (no cluster on the default)."""

from django.core.management import call_command

from ops.models import ActionRun, Channel, Incident
from ops.playbook import runner
from ops.slo import evaluate_all


def test_demo_scanner_playbook_runs_in_dry_run_with_its_channels(db, settings, capsys):
    settings.KUBE_DRY_RUN = True
    settings.KUBE_API_URL = None
    call_command("hms_demo")
    assert "channel tsa_ops (email tsa-ops@localhost)" in capsys.readouterr().out
    assert set(Channel.objects.values_list("name", flat=True)) >= {"tsa_ops", "CIGIE"}
    evaluate_all()
    incident = Incident.objects.get(service_id="DCA_Luggage_Scanner")
    due = ActionRun.objects.filter(incident=incident, trigger__in=["slo_breach", "always"])
    assert {run.action: runner.execute(run.pk) for run in due} == {
        "scale_up": "succeeded",
        "log_to": "succeeded",
    }
    scale = ActionRun.objects.get(incident=incident, action="scale_up")
    request = scale.detail["attempts"][0]["kubernetes"]
    assert request["dry_run"] is True
    assert request["path"].endswith("/namespaces/default/deployments/dca-luggage-scanner/scale")
    call_command("hms_demo")
    assert "channel" not in capsys.readouterr().out
