"""Celery: the broker (Redis with ``REDIS_URL``, else the ``filesystem://`` broker in
``var/``), task defaults, and the beat schedule with the periods it reads.
"""

from celery.schedules import crontab
from kombu import Queue

from hms_site.env import env_bool, env_float, env_int, env_str
from hms_site.settings_base import REDIS_URL, VAR_DIR

# --- Celery -------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu's broadcast (worker control) folder defaults to ./control: keep it in var/.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_DEFAULT_QUEUE = env_str("HMS_CELERY_QUEUE", "hms")
# Hand-offs (incidents, playbook plans) and playbook runs have a queue of their own, so
# evaluations (beat or triggered) never hold them up; a worker consumes every queue of
# CELERY_TASK_QUEUES unless told otherwise (-Q). hms_site.celery routes by task name.
HMS_CELERY_ACTIONS_QUEUE = env_str(
    "HMS_CELERY_ACTIONS_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-actions"
)
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(HMS_CELERY_ACTIONS_QUEUE))
CELERY_TASK_ROUTES = ("hms_site.celery.route_task",)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "hms_site.beat:DatabaseScheduler"  # django-celery-beat's, quick exit
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
HEARTBEAT_SECONDS = env_float("HMS_HEARTBEAT_SECONDS", 15.0, minimum=1.0)
HMS_SLO_EVAL_SECONDS = env_float("HMS_SLO_EVAL_SECONDS", 5.0, minimum=1.0)
# Event-driven evaluation (ops.slo_trigger): an ingest commit triggers a pass over its
# services' SLOs, at most one pass this often; 0 = off (the beat alone). Needs REDIS_URL.
HMS_SLO_TRIGGER_SECONDS = env_float("HMS_SLO_TRIGGER_SECONDS", 0.5, minimum=0.0)
# An SLO change not handed off (audit, incident, playbook plan) this long after its pass
# is sent again by the beat (ops.slo_handoff.sweep); a failed hand-off is tried this often.
HMS_SLO_HANDOFF_GRACE_SECONDS = env_float("HMS_SLO_HANDOFF_GRACE_SECONDS", 15.0, minimum=1.0)
HMS_SLO_HANDOFF_MAX_ATTEMPTS = env_int("HMS_SLO_HANDOFF_MAX_ATTEMPTS", 5, minimum=1)
# PostgreSQL: a pass that moves no SLO state (values only) commits without waiting for
# the WAL flush; a crash of the database server may lose its values, the next pass
# writes them again (ops.slo). State changes always commit synchronously.
HMS_SLO_ASYNC_COMMIT = env_bool("HMS_SLO_ASYNC_COMMIT", True)
HMS_SCRAPE_SECONDS = env_float("HMS_SCRAPE_SECONDS", 15.0, minimum=1.0)
HMS_METRIC_RETENTION_DAYS = env_int("HMS_METRIC_RETENTION_DAYS", 30, minimum=1)
# database store on PostgreSQL: day partitions created this many days ahead (hourly).
HMS_METRIC_PARTITIONS_AHEAD = env_int("HMS_METRIC_PARTITIONS_AHEAD", 3, minimum=1)
# database store on PostgreSQL: a day partition is compacted into hourly blocks once its
# end is this many hours old (the grace for late samples; later ones are merged too).
HMS_METRIC_COMPACT_AFTER_HOURS = env_int("HMS_METRIC_COMPACT_AFTER_HOURS", 2, minimum=0)
# Worker processes: the cyclic collector's generation-0 threshold, set with the start-up
# freeze (hms_site.celery.freeze_start_up_heap). Python's 700 makes a 10,000-SLO tick,
# which allocates ~10 containers a SLO, run ~150 young collections a pass.
HMS_WORKER_GC_THRESHOLD = env_int("HMS_WORKER_GC_THRESHOLD", 50_000, minimum=100)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "ops.tasks.record_heartbeat", "schedule": HEARTBEAT_SECONDS},
    # A pass or scrape not started within its interval is dropped: the next one supersedes it.
    "ops-evaluate-slos": {
        "task": "ops.tasks.evaluate_slos",
        "schedule": HMS_SLO_EVAL_SECONDS,
        "options": {"expires": HMS_SLO_EVAL_SECONDS},
    },
    "ops-scrape-sensors": {
        "task": "ops.tasks.scrape_sensors",
        "schedule": HMS_SCRAPE_SECONDS,
        "options": {"expires": HMS_SCRAPE_SECONDS},
    },
    "ops-purge-samples": {"task": "ops.tasks.purge_expired_samples", "schedule": 3600.0},
    "notifications-dispatch-due": {
        "task": "ops.outbox.tasks.dispatch_due_notifications",
        "schedule": env_float("HMS_NOTIFY_SWEEP_SECONDS", 30.0, minimum=1.0),
    },
    # reminders of open escalations (apm.reminders): due times are rows, this sends them
    "apm-escalation-reminders": {
        "task": "apm.tasks.send_due_reminders",
        "schedule": env_float("HMS_REMINDER_SWEEP_SECONDS", 60.0, minimum=1.0),
    },
    "ops-repeat-pages": {
        "task": "ops.tasks.repeat_pages",
        "schedule": env_float("HMS_REMINDER_SWEEP_SECONDS", 60.0, minimum=1.0),
    },
    # hourly: each calendar period that has closed keeps its result (apm.period_results)
    "apm-close-periods": {
        "task": "apm.tasks.close_periods",
        "schedule": crontab(minute=5),
    },
    # daily, after the nightly watchdog (02:00): red N days without a fix -> leadership review
    "apm-escalation-policies": {
        "task": "apm.tasks.apply_escalation_policies",
        "schedule": crontab(minute=30, hour=2),
    },
}
