"""The beat's SLO pass followed by its hand-offs, run in this process as a worker would.

``ops.slo.evaluate_all`` commits the state changes only; their audit entries,
incidents and playbook plans are handed off per service after the commit
(``ops.slo_handoff``). Tests that expect those right after a pass call ``evaluate``.
"""

from ops import slo, slo_handoff


def evaluate(at=None) -> slo.PassResult:
    result = slo.evaluate_all(at)
    slo_handoff.run_pending()
    return result
