"""The inputs every group of settings shares: where the code and ``var/`` are, ``DEBUG``,
and Redis (``REDIS_URL``). ``hms_site.settings`` puts them together with the groups
(``settings_security``, ``settings_api``, ``settings_celery``, ``settings_integrations``).
"""

from pathlib import Path

from hms_site.env import env_bool, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HMS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss"))
