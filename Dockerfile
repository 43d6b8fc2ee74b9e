# The grader as a container image. Grade the engine whose socket is mounted:
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock IMAGE check tp-reseau
# BASE_IMAGE must provide python3 with venv (an official slim Python image does).
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY grader grader
COPY exercises exercises
COPY rubrics rubrics
RUN python3 -m venv /opt/tp-grader \
 && /opt/tp-grader/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && /opt/tp-grader/bin/pip uninstall -y --disable-pip-version-check pip \
 && find /opt/tp-grader -name '__pycache__' -prune -exec rm -rf {} +

# The final stage gets the virtual environment only: no build tools, no sources, no pip.
FROM ${BASE_IMAGE}
COPY --from=build /opt/tp-grader /opt/tp-grader
ENV PATH=/opt/tp-grader/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["grade"]
CMD ["--help"]
