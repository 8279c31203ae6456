# syntax=docker/dockerfile:1
# Build: docker build -t cadence .   Run: docker run -p 8000:8000 -v cadence:/var/lib/cadence cadence

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/cadence
COPY constraints.txt pyproject.toml README.md ./
COPY src ./src
# the pinned stack first (cached layer), then the package itself
RUN /opt/cadence/bin/pip install -c constraints.txt . \
 && /opt/cadence/bin/python -c "import cadence, prophet, mlflow"

FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 cadence \
 && useradd --system --uid 10001 --gid cadence --home /var/lib/cadence cadence \
 && mkdir -p /var/lib/cadence && chown 10001:10001 /var/lib/cadence
COPY --from=build /opt/cadence /opt/cadence
COPY data /opt/cadence-data
ENV PATH=/opt/cadence/bin:$PATH \
    CADENCE_HOME=/var/lib/cadence \
    CADENCE_DATA_DIR=/opt/cadence-data \
    MLFLOW_DISABLE_TELEMETRY=true \
    PYTHONUNBUFFERED=1
USER 10001
WORKDIR /var/lib/cadence
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["cadence", "serve", "--host", "0.0.0.0", "--port", "8000"]
