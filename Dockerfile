# syntax=docker/dockerfile:1.7
# Build stage: resolve the locked dependencies into a virtualenv.
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# Throwaway values satisfy the prod checks; collectstatic touches no database or secret.
RUN DJANGO_ENV=prod SECRET_KEY=collectstatic-only \
    JWT_SIGNING_KEY=collectstatic-only-jwt-key-of-32-bytes-or-more \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://build-only:6379/0 PUSH_BACKEND=fcm \
    /opt/venv/bin/python manage.py collectstatic --noinput

# Runtime stage: the virtualenv and the code, run by an unprivileged user under gunicorn.
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_ENV=prod \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    LOG_FORMAT=json \
    CONN_MAX_AGE=60 \
    GUNICORN_WORKER_CLASS=gthread \
    GUNICORN_THREADS=2
# pg_dump/pg_restore of the server's major version, for `manage.py backup` and `restore`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-15=15.*" \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app app \
    && mkdir -p /data/media && chown -R app:app /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=app:app /src /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"]
# Workers, timeouts, recycling and trusted proxies: deploy/gunicorn.conf.py (env-driven).
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi:application"]
