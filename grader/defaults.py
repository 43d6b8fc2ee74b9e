"""Every default of tp-grader, in one place.

The CLI, the harness and the reports read their defaults from here, so a default is changed
once. Values an exercise owns (names, ports, paths) are not here: they are the exercise's
parameters, in ``exercises/<id>/exercise.yaml``.
"""

from __future__ import annotations

from typing import Final

# -- probes ------------------------------------------------------------------------------------
#: Image of the short-lived probe containers. Pinned: the probe scripts rely on busybox applets.
PROBE_IMAGE: Final = "busybox:1.36.1"
#: Environment variable that overrides :data:`PROBE_IMAGE` (the ``--probe-image`` option wins).
PROBE_IMAGE_ENV: Final = "GRADER_PROBE_IMAGE"
#: Wall-clock deadline of one probe container, from create to the last byte of output.
PROBE_DEADLINE_S: Final = 20.0
#: Bytes of probe output kept; beyond this the probe is stopped and its output marked as cut.
PROBE_OUTPUT_LIMIT: Final = 1 << 20
#: Bytes of output kept per step of a batched probe.
STEP_OUTPUT_LIMIT: Final = 64 << 10
#: Per-step timeouts inside a probe (seconds, whole numbers: busybox ``timeout`` takes integers).
DNS_TIMEOUT_S: Final = 3
TCP_TIMEOUT_S: Final = 3
HTTP_TIMEOUT_S: Final = 5
#: Limits given to every probe container.
PROBE_MEMORY: Final = "64m"
PROBE_PIDS: Final = 64

# -- engine ------------------------------------------------------------------------------------
#: Deadline of one Engine API call (inspect, list, create...).
ENGINE_TIMEOUT_S: Final = 30.0
#: Deadline of removing what a killed grading left (its engine may be why it hung).
CLEANUP_TIMEOUT_S: Final = 5.0
#: Endpoint used when neither --host, DOCKER_HOST nor a CLI context names one.
DEFAULT_DOCKER_HOST: Final = "unix:///var/run/docker.sock"

# -- labels ------------------------------------------------------------------------------------
#: Every container, network and volume tp-grader creates carries this label (value: its role).
LABEL_ROLE: Final = "io.tp-grader.role"
#: Identifies the run that created the object, so one run cleans only what it made.
LABEL_RUN: Final = "io.tp-grader.run"
#: On an image a run built under a tag of its own: the name the compose file gave it.
LABEL_IMAGE_NAME: Final = "io.tp-grader.image"

# -- reports -----------------------------------------------------------------------------------
DEFAULT_LANG: Final = "fr"
#: Versioned schema name written in every JSON report.
REPORT_SCHEMA: Final = "tp-grader.report/1"
#: Characters of observed text kept in one message of a report; the cut is marked.
MESSAGE_LIMIT: Final = 2000

# -- exercises ---------------------------------------------------------------------------------
#: Extra folders (``os.pathsep``-separated), each holding ``exercises/`` and ``rubrics/``:
#: a course's own labs, found before the bundled ones.
EXERCISE_PATH_ENV: Final = "GRADER_PATH"

# -- exams -------------------------------------------------------------------------------------
#: Environment variable holding the course key that derives each student's variant.
COURSE_KEY_ENV: Final = "GRADER_COURSE_KEY"
#: Environment variable naming a course configuration file (``exam: true``...).
COURSE_CONFIG_ENV: Final = "GRADER_COURSE_CONFIG"
#: A course folder on ``GRADER_PATH`` may hold this configuration file.
COURSE_CONFIG_FILE: Final = "course.yaml"

# -- files and archives ------------------------------------------------------------------------
#: Bytes of a small file (``/etc/passwd``) read at most.
SMALL_FILE_LIMIT: Final = 1 << 20
#: Members of a student's tar archive listed at most (a tar bomb stops here).
ARCHIVE_MAX_MEMBERS: Final = 10_000
#: Uncompressed bytes of a student's tar archive walked at most (a gzip bomb stops here).
ARCHIVE_MAX_UNPACKED: Final = 512 << 20
#: Deadline of a command run inside a student's container (the one observation that needs it).
EXEC_DEADLINE_S: Final = 10.0
#: Bytes of that command's output kept: past them, reading stops.
EXEC_OUTPUT_LIMIT: Final = 64 << 10

# -- reference solutions (demo, selftest) ---------------------------------------------------
#: Seconds `compose up --wait` gives a reference solution's services to be running and healthy.
SOLUTION_WAIT_S: Final = 120.0
#: The same for a mutant of it in selftest (a mutant may never get healthy: graded as it is).
SELFTEST_WAIT_S: Final = 20.0
#: Mutants set up and graded at once by selftest.
SELFTEST_JOBS: Final = 4
#: Host ports selftest gives the exercise's declared ports (each run its own).
SELFTEST_PORT_RANGE: Final = (30000, 30999)

# -- batch grading -----------------------------------------------------------------------------
#: Compose file names a submission folder may hold, in the order Compose itself prefers them.
COMPOSE_FILE_NAMES: Final = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
)
#: Bounds of a submission's staged copy (see grader.batch.stage).
STAGE_MAX_FILES: Final = 2000
STAGE_MAX_BYTES: Final = 64 << 20
STAGE_MAX_DEPTH: Final = 16
STAGE_MAX_COMPOSE_BYTES: Final = 256 << 10
#: YAML nodes a compose file may expand to (anchors and aliases counted as many times as used).
STAGE_MAX_YAML_NODES: Final = 100_000
#: Compose files one submission may make Compose read (itself and what it includes).
STAGE_MAX_COMPOSE_FILES: Final = 20
#: Services a submission may declare at most.
BATCH_MAX_SERVICES: Final = 10
#: Distinct host ports a submission may publish at most (each gets a port of the pool).
BATCH_MAX_PUBLISHED_PORTS: Final = 20
#: Port entries a submission may declare at most, published or not (each may take a host port).
BATCH_MAX_PORT_ENTRIES: Final = 50
#: Networks a submission may create at most (each takes a subnet of the engine's pools).
BATCH_MAX_NETWORKS: Final = 8
#: Shortest health-check interval or timeout a replayed container keeps (dockerd runs them).
BATCH_MIN_HEALTHCHECK_S: Final = 1.0
#: What a replayed container may log, at most (json-file, one file).
BATCH_LOG_MAX_SIZE: Final = "1m"
#: Limits given to every replayed container (lowered, never raised, if the student set some).
BATCH_MEMORY_BYTES: Final = 256 << 20
BATCH_CPUS: Final = 1.0
BATCH_PIDS: Final = 256
#: Size of a replayed container's tmpfs mounts and /dev/shm at most (set when absent).
BATCH_TMPFS_BYTES: Final = 64 << 20
#: Deadlines of a submission's phases.
BATCH_CONFIG_TIMEOUT_S: Final = 60.0
BATCH_UP_TIMEOUT_S: Final = 300.0
BATCH_READY_TIMEOUT_S: Final = 60.0
BATCH_GRADE_PROBE_DEADLINE_S: Final = 15.0
#: A grading still running after this is killed (its worker process with it): error: timeout.
BATCH_GRADE_TIMEOUT_S: Final = 120.0
BATCH_DOWN_TIMEOUT_S: Final = 120.0
#: Bytes of a replay's log (compose output) kept, head and tail.
BATCH_LOG_LIMIT: Final = 64 << 10
#: Host ports given to the ports an exercise declares (``host_ports``), per engine.
BATCH_PORT_RANGE: Final = (20000, 29999)
#: Id column of the gradebook: Moodle maps it to a user field (idnumber, email, username).
GRADEBOOK_ID_COLUMN: Final = "idnumber"
