# One image for web, worker and beat (see docker-compose.yml). Python is pinned to a patch release:
# move the tag on with each 3.11 security release.
FROM python:3.11.15-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PAPERBOY_VAR_DIR=/app/var

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs a key to import settings; it is not used for anything else here.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 paperboy \
    && mkdir -p /app/var && chown -R paperboy /app/var

USER paperboy
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--logger-class", "config.accesslog.RedactingLogger"]
