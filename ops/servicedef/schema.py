"""The JSON Schema of an ``.ops.yaml`` service definition (seed section 3).

Unknown keys are errors everywhere except inside a playbook step, whose shape
the playbook grammar checks (the seed's ``always:`` step carries its action as a
sibling key).
"""

METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
SERVICE_ID = r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$"
LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
# A Kubernetes object name (RFC 1123 label) and a kubeconfig context name.
KUBE_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DEFAULT_COOLDOWN_SECONDS = 300
# Samples an SLO window needs before it is judged: the seed's heartbeat every 5 s
# is judged after 25 s (docs/VERDICTS.md).
DEFAULT_MIN_SAMPLES = 5

SERVICE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "owner", "sensors", "slo"],
    "properties": {
        "id": {"type": "string", "pattern": SERVICE_ID},
        "owner": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "sensors": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": METRIC_NAME, "maxLength": 200},
                    "scrape_url": {
                        "type": "string",
                        "pattern": r"^https?://[^\s/]+",
                        "maxLength": 2000,
                    },
                    "help": {"type": "string", "maxLength": 500},
                    "labels": {
                        "type": "object",
                        "maxProperties": 20,
                        "propertyNames": {"pattern": LABEL_NAME},
                        "additionalProperties": {"type": "string", "maxLength": 200},
                    },
                },
            },
        },
        "slo": {
            "type": "object",
            "additionalProperties": False,
            "required": ["target", "threshold", "window_seconds"],
            "properties": {
                "target": {"type": "string", "pattern": METRIC_NAME},
                "threshold": {"type": "number"},
                "window_seconds": {"type": "integer", "minimum": 10, "maximum": 7 * 86400},
                "percentile": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                "objective": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
                "budget_window": {"type": "string", "maxLength": 16},
                "min_samples": {"type": "integer", "minimum": 1, "maximum": 1000000},
            },
        },
        "kubernetes": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "deployment": {"type": "string", "pattern": KUBE_NAME, "maxLength": 63},
                "namespace": {"type": "string", "pattern": KUBE_NAME, "maxLength": 63},
                "cluster": {"type": "string", "minLength": 1, "maxLength": 200},
                "min_replicas": {"type": "integer", "minimum": 0, "maximum": 10000},
                "max_replicas": {"type": "integer", "minimum": 1, "maximum": 10000},
                "ingress": {"type": "string", "pattern": KUBE_NAME, "maxLength": 63},
            },
        },
        "cooldown_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "playbook": {
            "type": "array",
            "maxItems": 50,
            "items": {"type": "object", "minProperties": 1},
        },
    },
}

TYPE_NAMES = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
}
