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
#: Steps of one probe run together, at most (each a handful of processes: well within
#: :data:`PROBE_PIDS`).
PROBE_STEPS_AT_ONCE: Final = 4
#: Per-step timeouts inside a probe (seconds, whole numbers: busybox ``timeout`` takes integers).
DNS_TIMEOUT_S: Final = 3
TCP_TIMEOUT_S: Final = 3
HTTP_TIMEOUT_S: Final = 5
#: A network observation that misses (no DNS reply, no TCP connection, no HTTP answer) is run
#: again every RETRY_PAUSE_S until it no longer misses or RETRY_WINDOW_S has passed; batch
#: grading, where many replays share the machine, waits longer (grader.observe.retry).
RETRY_WINDOW_S: Final = 3.0
RETRY_PAUSE_S: Final = 0.5
#: ...and each miss is seen at least this many times, however long one probe takes.
RETRY_MIN_ATTEMPTS: Final = 3
BATCH_RETRY_WINDOW_S: Final = 10.0
#: How long a probe started ahead of its checks (an exercise's ``probe_sites``) waits for its
#: script before it exits, and the engine removes it, by itself: a grader killed before it
#: used it leaves nothing behind for longer.
STANDBY_PROBE_LIFETIME_S: Final = 60
#: Limits given to every probe container.
PROBE_MEMORY: Final = "64m"
PROBE_PIDS: Final = 64

# -- engine ------------------------------------------------------------------------------------
#: Deadline of one Engine API call (inspect, list, create...).
ENGINE_TIMEOUT_S: Final = 30.0
#: How many times a container removal is tried (0.5 s, 1 s, then 2 s apart) when the engine
#: fails it: a busy engine can, and whatever a run creates must not outlive it.
REMOVE_ATTEMPTS: Final = 4
#: Bound on a worker process's start (a new interpreter, then the imports of the function it
#: is given), kept apart from the call's own deadline: on a loaded machine it is long, and it
#: is the grader's time, never a student's.
WORKER_START_TIMEOUT_S: Final = 120.0
#: Deadline of removing what a killed grading left (its engine may be why it hung).
CLEANUP_TIMEOUT_S: Final = 5.0
#: Between stopping a health-checked container and removing it: time for a health probe the
#: engine had begun to find the container still there (grader.engine.base.stop_health_checked).
HEALTH_PROBE_GRACE_S: Final = 1.0
#: ``grade clean`` removes a run's engine-host folder without containers of that run only once
#: it has not changed for this many minutes (it may be a run starting on another engine).
CLEAN_SCRATCH_AGE_MIN: Final = 10
#: Endpoint used when neither --host, DOCKER_HOST nor a CLI context names one.
DEFAULT_DOCKER_HOST: Final = "unix:///var/run/docker.sock"

# -- labels ------------------------------------------------------------------------------------
#: Every container, network and volume tp-grader creates carries this label (value: its role).
LABEL_ROLE: Final = "io.tp-grader.role"
#: Identifies the run that created the object, so one run cleans only what it made.
LABEL_RUN: Final = "io.tp-grader.run"
#: On an image a run built under a tag of its own: the name the compose file gave it.
LABEL_IMAGE_NAME: Final = "io.tp-grader.image"
#: Every Compose project tp-grader makes starts with this (batch, demo and selftest runs), and
#: so do the tags of the images it builds for them: ``grade clean`` finds them by it.
PROJECT_PREFIX: Final = "tpg"
#: On a tool image of tp-grader's own (the Compose sandbox): which tool, which binary.
LABEL_TOOL: Final = "io.tp-grader.tool"

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

# -- reference solutions (demo, selftest) ---------------------------------------------------
#: Seconds `compose up --wait` gives a reference solution's services to be running and healthy.
SOLUTION_WAIT_S: Final = 120.0
#: How long a check waits for a swarm service to run as many tasks as it wants
#: (:func:`grader.observe.swarm.settle`); still converging after that, it is reported so.
SERVICE_CONVERGE_S: Final = 30.0
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
#: Bytes a ``.env`` or an ``env_file`` may hold (Compose reads them while it loads the model).
STAGE_MAX_ENV_BYTES: Final = 64 << 10
#: Bytes a Dockerfile may hold (the batch reads it to review what the build fetches).
STAGE_MAX_DOCKERFILE_BYTES: Final = 256 << 10
#: YAML nodes a compose file may expand to (anchors and aliases counted as many times as used).
STAGE_MAX_YAML_NODES: Final = 100_000
#: Levels of nesting a compose file may have (a lab's nests about ten): refused deeper, before
#: the YAML scanner, whose work grows with the square of the depth, is far into the file.
STAGE_MAX_YAML_DEPTH: Final = 64
#: Compose files one submission may make Compose read (itself and what it includes).
STAGE_MAX_COMPOSE_FILES: Final = 20
#: Deadline of the prescan of one submission (staging and reading its compose files), in a
#: worker process killed past it.
BATCH_PRESCAN_TIMEOUT_S: Final = 30.0
#: Registries a submission's images may come from (``grade batch --registry`` adds to them):
#: the engine pulls from its own host's network namespace, where a registry on loopback or at
#: an address a submission chose is reachable.
BATCH_REGISTRIES: Final = (
    "docker.io",
    "ghcr.io",
    "quay.io",
    "registry.gitlab.com",
    "mcr.microsoft.com",
    "public.ecr.aws",
    "gcr.io",
    "registry.k8s.io",
)
#: Limits of the container ``compose config`` runs in (:mod:`grader.batch.gate.confined`).
CONFIG_SANDBOX_MEMORY_BYTES: Final = 256 << 20
CONFIG_SANDBOX_CPUS: Final = 1.0
CONFIG_SANDBOX_PIDS: Final = 64
#: Bytes of ``compose config``'s JSON model read at most (a model past it is refused).
CONFIG_MODEL_LIMIT: Final = 8 << 20
#: The unprivileged user sandboxed tools run as (``nobody`` on most systems).
SANDBOX_USER: Final = "65534:65534"
#: Limits of one image build of a submission (the engine's classic builder takes them; it has
#: no pids limit, see the README's threat model).
BATCH_BUILD_MEMORY_BYTES: Final = 1 << 30
BATCH_BUILD_CPUS: Final = 1.0
BATCH_BUILD_TIMEOUT_S: Final = 300.0
#: Services a submission may declare at most.
BATCH_MAX_SERVICES: Final = 10
#: Distinct host ports a submission may publish at most (each gets a port of the pool).
BATCH_MAX_PUBLISHED_PORTS: Final = 20
#: Port entries a submission may declare at most, published or not (each may take a host port).
BATCH_MAX_PORT_ENTRIES: Final = 50
#: Networks a submission may create at most (each takes a subnet of the engine's pools).
BATCH_MAX_NETWORKS: Final = 8
#: Shortest health-check interval a replayed container keeps (dockerd runs the probes).
BATCH_MIN_HEALTHCHECK_S: Final = 1.0
#: Shortest health-check timeout a replayed container keeps: on a busy machine a probe can take
#: seconds to start, and a timed-out probe both fails a correct setup and, on dockerd 20.10, can
#: panic the engine (a probe cancelled while it starts).
BATCH_MIN_HEALTHCHECK_TIMEOUT_S: Final = 10.0
#: What a replayed container may log, at most (json-file, one file).
BATCH_LOG_MAX_SIZE: Final = "1m"
#: Limits given to every replayed container (lowered, never raised, if the student set some).
BATCH_MEMORY_BYTES: Final = 256 << 20
BATCH_CPUS: Final = 1.0
BATCH_PIDS: Final = 256
#: Highest CPU weight a replayed container keeps (the engine's default weight).
BATCH_CPU_SHARES: Final = 1024
#: Size of a replayed container's tmpfs mounts and /dev/shm at most (set when absent).
BATCH_TMPFS_BYTES: Final = 64 << 20
#: Deadlines of a submission's phases.
BATCH_CONFIG_TIMEOUT_S: Final = 60.0
BATCH_UP_TIMEOUT_S: Final = 300.0
BATCH_READY_TIMEOUT_S: Final = 60.0
BATCH_GRADE_PROBE_DEADLINE_S: Final = 15.0
#: A grading still running after this is killed (its worker process with it): error: timeout.
BATCH_GRADE_TIMEOUT_S: Final = 120.0
#: Gradings of one replayed setup at most: one whose checks ended in error (the grader's
#: miss, not the student's) is graded again while the setup is still up.
BATCH_GRADE_ATTEMPTS: Final = 2
BATCH_DOWN_TIMEOUT_S: Final = 120.0
#: Bytes of a replay's log (compose output) kept, head and tail.
BATCH_LOG_LIMIT: Final = 64 << 10
#: Host ports given to the ports an exercise declares (``host_ports``), per engine.
BATCH_PORT_RANGE: Final = (20000, 29999)
#: Id column of the gradebook: Moodle maps it to a user field (idnumber, email, username).
GRADEBOOK_ID_COLUMN: Final = "idnumber"

# -- the class view (grade serve, grade join) --------------------------------------------------
#: Where ``grade serve`` listens unless told otherwise: this machine only (see the README for a
#: classroom network behind a TLS reverse proxy).
SERVE_HOST: Final = "127.0.0.1"
SERVE_PORT: Final = 8765
#: Environment variable naming the class database (``--db``): a SQLAlchemy URL.
SERVE_DB_ENV: Final = "GRADER_SERVE_DB"
#: Environment variable naming the data folder of the embedded SQLite database (``--data``).
SERVE_DATA_ENV: Final = "GRADER_SERVE_DATA"
#: The SQLite file in the data folder.
SERVE_SQLITE_FILE: Final = "class-view.sqlite3"
#: Bytes of a pushed report read at most (past them: 413). A real report is ~6 KiB.
SERVE_MAX_REPORT_BYTES: Final = 256 << 10
#: Checks one report may hold, and characters of its texts, at most.
SERVE_MAX_CHECKS: Final = 200
SERVE_MAX_TEXT: Final = 4000
#: Per student token: reports accepted in a burst, then one per this many seconds (429 past it).
SERVE_RATE_BURST: Final = 20
SERVE_RATE_EVERY_S: Final = 3.0
#: Failed teacher logins accepted per client address in a burst, then one per this many seconds.
SERVE_LOGIN_BURST: Final = 10
SERVE_LOGIN_EVERY_S: Final = 6.0
#: How long a teacher's session cookie lasts.
SERVE_SESSION_HOURS: Final = 12
#: Stuck: the same check failed on this many attempts in a row, or for this many minutes,
#: while more than this share of the students who tried the lab passed it.
STUCK_ATTEMPTS: Final = 3
STUCK_MINUTES: Final = 10.0
STUCK_CLASS_SHARE: Final = 0.5
#: Events an open page may be behind before it is dropped (it reconnects and reloads).
SERVE_PAGE_QUEUE: Final = 1000
#: Seconds a stopping server waits for open requests before closing them.
SERVE_GRACEFUL_S: Final = 2
#: Per check, the failure messages the page shows; points of a pass-rate chart (a minute each).
SERVE_TOP_MESSAGES: Final = 5
SERVE_SERIES_POINTS: Final = 180
#: Random bytes of a class token (teacher, student, session): 256 bits.
SERVE_TOKEN_BYTES: Final = 32
#: Seconds between comments on an idle live stream (keeps proxies from closing it).
SERVE_HEARTBEAT_S: Final = 15.0
#: The page's live stream asks the browser to reconnect after this many milliseconds.
SERVE_RECONNECT_MS: Final = 1000
#: Observed grading (``--hosts``): seconds between rounds, and gradings at once.
SERVE_OBSERVE_EVERY_S: Final = 60.0
SERVE_OBSERVE_JOBS: Final = 2
#: A student's push: the whole delivery (queued reports first, then this one) gives up after
#: this many seconds, and the rest waits in the outbox for a later run or ``grade push``.
PUSH_DEADLINE_S: Final = 2.0
#: Reports an outbox keeps at most (the oldest are dropped past it, and the student told).
PUSH_OUTBOX_MAX: Final = 1000
#: Environment variable naming the student's config folder (default: the user's config folder,
#: ``$XDG_CONFIG_HOME/tp-grader`` or ``~/.config/tp-grader``).
CONFIG_DIR_ENV: Final = "GRADER_CONFIG_DIR"
