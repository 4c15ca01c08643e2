# taskhub: API, RQ worker and cron scheduler all run from this image
# (see docker-compose.yml for the commands).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=platform_core.settings \
    PORT=8000

# libpq for psycopg (the binary wheel brings its own; this keeps a plain
# psycopg working too).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first (cached while pyproject.toml/constraints.txt don't change):
# with no source yet, this installs only the project's dependencies.
COPY pyproject.toml constraints.txt* ./
RUN set -e; c=""; [ -f constraints.txt ] && c="-c constraints.txt"; \
    pip install $c . && pip uninstall -y taskhub

# Then the code.
COPY . .
RUN set -e; c=""; [ -f constraints.txt ] && c="-c constraints.txt"; \
    pip install --no-deps $c .

# Run as an unprivileged user; .data holds static files and the mail folder.
RUN useradd --system --create-home --uid 10001 app \
    && mkdir -p /app/.data \
    && chown app:app /app/.data
USER app

EXPOSE 8000
# The API process (docker-compose.yml also runs the live server, the proxy, the worker and the scheduler).
CMD ["sh", "-c", "python manage.py setup_platform && exec granian --interface wsgi --host 0.0.0.0 --port \"$PORT\" --workers \"${WEB_WORKERS:-2}\" --blocking-threads \"${API_THREADS:-4}\" platform_core.wsgi:application"]
