# One image for every app of the platform; docker-compose.yml and k8s/ pick the app by command:
#   uvicorn --factory services.inventory.main:build_app --host 0.0.0.0 --port 8001
#   python -m shared.migrations services.inventory        (migrations, before the app starts)

FROM python:3.11-slim AS dependencies
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The runtime lock pins every package with its hash; development tools are not in it.
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production
RUN useradd --create-home --uid 10001 app
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
COPY shared ./shared
COPY gateway ./gateway
COPY services ./services
USER 10001
EXPOSE 8000 8001 8002 8003 8004 8005
CMD ["uvicorn", "--factory", "gateway.main:build_app", "--host", "0.0.0.0", "--port", "8000", \
     "--no-proxy-headers", "--timeout-graceful-shutdown", "20"]
