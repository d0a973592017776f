# Two images from one file:
#   runner - Python, jax, numpy and grader/runner.py only: runs one submission, nothing secret in it
#   judge  - the whole jaxjudge with problems, references and examples; learner code it grades runs
#            as uid 60000, which cannot read any of that
# Offline builds: put wheels in ./wheels (make wheels) and pass BASE_IMAGE for a local base.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS base
# Debian's python3 or the python image's; venvs below need the stdlib venv module only.
RUN python3 -c "import venv" && mkdir -p /judge /var/cache/jaxjudge

FROM base AS build-runner
ARG JAX_VERSION=0.10.2
COPY wheels/ /wheels/
# From the wheel directory when it has wheels (no network), else from the package index.
RUN python3 -m venv /opt/venv \
 && if ls /wheels/*.whl >/dev/null 2>&1; then SRC="--no-index --find-links /wheels"; else SRC=""; fi \
 && /opt/venv/bin/pip install --no-cache-dir $SRC "jax==${JAX_VERSION}" "jaxlib==${JAX_VERSION}" numpy \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

# The installers themselves stay behind: final images get the venv without pip/setuptools/wheel.
FROM build-runner AS runner-venv
RUN rm -rf /opt/venv/bin/pip* /opt/venv/lib/python3*/site-packages/pip \
    /opt/venv/lib/python3*/site-packages/pip-*

FROM base AS runner
COPY --from=runner-venv /opt/venv /opt/venv
COPY grader/sandbox/runner.py /judge/runner.py
ENV JAX_PLATFORMS=cpu PYTHONDONTWRITEBYTECODE=1 HOME=/tmp
USER 60000:60000
WORKDIR /tmp
ENTRYPOINT ["/opt/venv/bin/python", "-I", "/judge/runner.py"]

FROM build-runner AS build-judge
COPY pyproject.toml README.md /src/
COPY grader /src/grader
RUN if ls /wheels/*.whl >/dev/null 2>&1; then SRC="--no-index --find-links /wheels"; else SRC=""; fi \
 && /opt/venv/bin/pip install --no-cache-dir $SRC setuptools wheel \
 && /opt/venv/bin/pip install --no-cache-dir --no-build-isolation $SRC /src \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

FROM build-judge AS judge-venv
RUN rm -rf /opt/venv/bin/pip* /opt/venv/bin/wheel /opt/venv/lib/python3*/site-packages/pip \
    /opt/venv/lib/python3*/site-packages/pip-* /opt/venv/lib/python3*/site-packages/setuptools* \
    /opt/venv/lib/python3*/site-packages/_distutils_hack /opt/venv/lib/python3*/site-packages/wheel* \
    /opt/venv/lib/python3*/site-packages/distutils-precedence.pth

FROM base AS judge
COPY --from=judge-venv /opt/venv /opt/venv
COPY problems /app/problems
COPY reference /app/reference
COPY submissions /app/submissions
# Root-only: the problems, references, examples and the expected outputs, and the compile
# cache's folder (0300), warmed here from trusted code: its entries (free of source locations,
# world-readable) reach uid 60000 only as links in each job's own view of the cache, the
# visible calls' programs first and the hidden calls' only with the hidden inputs.
# JAXJUDGE_LIMITS=per-process: no cgroup can be made inside the container, whose own cgroup
# (docker run --memory, --cpus, --pids-limit) bounds all the submissions it grades together.
ENV PATH=/opt/venv/bin:$PATH JAXJUDGE_ROOT=/app JAXJUDGE_ISOLATION=uid JAXJUDGE_LIMITS=per-process \
    JAX_PLATFORMS=cpu \
    XDG_CACHE_HOME=/var/cache/jaxjudge/private JAXJUDGE_COMPILE_CACHE=/var/cache/jaxjudge/xla
# WARM_PROBLEMS: the problems to warm and verify (default: every one); the test suite's image
# warms the one its tests grade in it. Every problem is loaded (`jaxjudge list`) either way:
# verifying all of them runs every reference once more, half a minute of CPU a test run spends
# beside its tests for problems it never grades in the image.
ARG WARM_PROBLEMS=
RUN chmod 0700 /app && mkdir -p -m 0700 /var/cache/jaxjudge/private \
 && jaxjudge warm $WARM_PROBLEMS && jaxjudge verify --skip-examples $WARM_PROBLEMS \
 && jaxjudge list >/dev/null \
 && chmod -R a+r,go-w /var/cache/jaxjudge/xla && chmod 0300 /var/cache/jaxjudge/xla
# The judge needs root only to drop each submission to uid 60000 (setpriv, no capabilities,
# no_new_privs); the container's namespaces and `--network none` are the outer jail.
ENTRYPOINT ["jaxjudge"]
CMD ["--help"]
