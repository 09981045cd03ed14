# Abacus on HuggingFace Spaces (Docker SDK): uid 1000, app in /app, gunicorn on 7860.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 user
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --chown=user:user . .

# Experiments keep their SQLite file here; with Spaces persistent storage set ABACUS_DATABASE=/data/abacus.sqlite3.
ENV ABACUS_DATABASE=/app/instance/abacus.sqlite3 HOME=/home/user
RUN mkdir -p /app/instance && chown user:user /app/instance
USER user

EXPOSE 7860
CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:app"]
