# One image for every Copywatch role (migrate, worker, beat, crawler, web).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DATA_DIR=/data MEDIA_ROOT=/data/media
# chromium: Debian's browser, driven by Playwright for evidence screenshots (nothing is downloaded at run time).
RUN apt-get update && apt-get install -y --no-install-recommends libglib2.0-0 chromium && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# CPU build of torch first so the project does not pull the CUDA wheels; the GPU image overrides TORCH_INDEX.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --index-url ${TORCH_INDEX} "torch>=2.2"
COPY pyproject.toml README.md alembic.ini ./
COPY copywatch copywatch
COPY crawler crawler
COPY workers workers
COPY detection detection
COPY db db
COPY review review
COPY takedown takedown
COPY migrations migrations
RUN pip install .
RUN useradd --create-home copywatch && mkdir -p /data && chown copywatch /data
USER copywatch
ENTRYPOINT ["copywatch"]
CMD ["--help"]
