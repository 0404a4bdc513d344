# Ledger server image. Runs migrations on start when LEDGER_MIGRATE=1 (the default here).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini constraints.txt ./
COPY protos protos
COPY client client
COPY server server
COPY migrations migrations
# The versions CI tested (constraints.txt, written by `make lock`).
RUN pip install --no-cache-dir -c constraints.txt .
ENV LEDGER_LISTEN=0.0.0.0:50051
# gRPC; and metrics when LEDGER_METRICS_LISTEN=0.0.0.0:9464 (off unless set)
EXPOSE 50051 9464
CMD ["ledger", "serve", "--migrate"]
