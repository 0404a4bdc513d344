# Ledger server image. Runs migrations on start when LEDGER_MIGRATE=1 (the default here).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY protos protos
COPY client client
COPY server server
COPY migrations migrations
RUN pip install --no-cache-dir .
ENV LEDGER_LISTEN=0.0.0.0:50051
EXPOSE 50051
CMD ["ledger", "serve", "--migrate"]
