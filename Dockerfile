# HMS Monitor: one image for web, worker, beat and migrate (scripts/start.sh ROLE).
#   docker build -t hms-monitor .
#   docker run --env-file hms.env hms-monitor migrate    # then web | worker | beat
# Settings come from the environment (README "Configuration"; docs/DEPLOY.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HMS_VENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    HMS_VAR_DIR=/app/var \
    HMS_HOST=0.0.0.0 \
    HMS_PORT=8000

WORKDIR /app
# Pango: WeasyPrint renders the trail report's PDF with it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home hms

# Dependencies first (a layer that survives code changes), then the code.
COPY pyproject.toml README.md ./
COPY sdk ./sdk
RUN python -m venv /app/.venv \
 && pip install ./sdk \
 && python -c "import subprocess, sys, tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; subprocess.run([sys.executable, '-m', 'pip', 'install', *deps], check=True)"
COPY . .
RUN pip install --no-deps . \
 # Static files are collected at build time (whitenoise serves them); the key is build-only.
 && SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    python manage.py collectstatic --noinput -v0 \
 && mkdir -p /app/var \
 && chown -R hms:hms /app/var

USER hms
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
ENTRYPOINT ["scripts/start.sh"]
CMD ["web"]
