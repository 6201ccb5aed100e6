"""The rules ``Baseline.clean`` applies across fields: minimum samples and calendar periods."""

from django.core.exceptions import ValidationError

from apm import periods
from apm.probes import ProbeError, ProbeKind, probe_for

# How each probe kind's query takes a calendar period (docs/VERDICTS.md, "Periods").
PERIOD_PLACES = {
    ProbeKind.PROMQL: "[$__range] (replaced by the period to date, in seconds)",
    ProbeKind.METRIC: "[period] as the window",
    ProbeKind.SQL: "%(period_start)s and %(period_end)s",
}


def check_min_samples(baseline) -> None:
    """``min_samples`` above 1 needs a probe that counts (docs/VERDICTS.md); only a
    PromQL baseline takes a ``count_query``."""
    if baseline.count_query and baseline.probe_kind != ProbeKind.PROMQL:
        raise ValidationError(
            {"count_query": "Only a PromQL baseline takes a count query (leave it blank)."}
        )
    if (baseline.min_samples or 1) <= 1:
        return
    if baseline.probe_kind == ProbeKind.SQL:
        raise ValidationError(
            {"min_samples": "A SQL probe reads one row, one sample: min_samples must be 1."}
        )
    if baseline.probe_kind == ProbeKind.PROMQL:
        from apm.probes.promql_count import count_query_for

        if count_query_for(baseline.probe_query, baseline.count_query) is None:
            missing = (
                "Required when min_samples is above 1: this query has no single "
                "FUNC_over_time(selector[range]) to derive the count from, so give the "
                "PromQL that counts its samples (e.g. sum(count_over_time(x[7d])))."
            )
            raise ValidationError(
                {
                    "count_query": missing,
                    "min_samples": "Above 1 needs a count query (count_query) for this "
                    "PromQL query.",
                }
            )


def check_period(baseline) -> None:
    """A calendar-period baseline's query must take the period; a rolling one must not."""
    if baseline.probe_kind not in ProbeKind.values or not baseline.probe_query:
        return
    try:
        probe = probe_for(baseline.probe_kind)
    except ProbeError:
        return  # check_probe reports it
    uses = probe.uses_period(baseline.probe_query)
    place = PERIOD_PLACES.get(baseline.probe_kind, "the period")
    if baseline.period != periods.ROLLING and not uses:
        raise ValidationError(
            {
                "probe_query": f"a {baseline.get_period_display().lower()} baseline's query "
                f"covers the period to date: use {place}"
            }
        )
    if baseline.period == periods.ROLLING and uses:
        raise ValidationError(
            {"period": f"the query uses {place}: choose month, quarter or fiscal year"}
        )
    if baseline.count_query and probe.uses_period(baseline.count_query) != uses:
        raise ValidationError(
            {
                "count_query": f"the count query covers the same span as the query: "
                f"{'use' if uses else 'do not use'} {place}"
            }
        )
