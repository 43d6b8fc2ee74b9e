"""The class view end to end: real ``grade check`` runs of a real tp-reseau setup on the
engine push to a real ``grade serve``, and the teacher's page, in Debian's headless Chromium,
shows them live.

- the page: the teacher logs in, a student's check turns the cells passed within 2 s with no
  reload, a hostile check message is shown as text, and a screenshot is written;
- the class: three students with different mistakes, the grid and the stuck list as
  expected; the server killed mid-way (the checks go on, their reports wait on disk), started
  again (the page reconnects by itself), and the waiting reports delivered, nothing lost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.engine.test_tp_reseau import build_reseau
from tests.support.browser import chromium
from tests.support.class_server import (
    MadeClass,
    ServerProcess,
    class_state,
    database_url,
    http,
    make_class,
    push,
    report,
    running_server,
)
from tests.support.lab import LabBuilder, lab_builder
from tests.support.wait import wait_for

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("class-view")

#: Set to a path to keep the end-to-end screenshot there too (the README's is made so).
SCREENSHOT_ENV = "TPG_CLASS_VIEW_SCREENSHOT"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reseau_setup(
    docker_client: docker.DockerClient, reseau_images: dict[str, str]
) -> Iterator[LabBuilder]:
    """The reference solution, built once for the module (each test changes it back)."""
    with lab_builder(docker_client) as lab:
        build_reseau(lab, reseau_images)
        yield lab


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with (
        database_url("sqlite", tmp_path_factory.mktemp("class-view")) as url,
        running_server(url) as started,
    ):
        yield started


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium")) as started:
        yield started


# -- what a student and a teacher do -----------------------------------------------------------
class Student:
    def __init__(self, name: str, home: Path) -> None:
        self.name = name
        self.env = {**os.environ, "GRADER_CONFIG_DIR": str(home / name)}

    def grade(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "grader", *args, "--lang", "en"],
            capture_output=True, text=True, env=self.env, timeout=120, check=False,
        )  # fmt: skip

    def join(self, server: ServerProcess, room: MadeClass) -> None:
        done = self.grade("join", server.url, f"--token={room.tokens[self.name]}")
        assert done.returncode == 0, done.stdout + done.stderr

    def check(self) -> subprocess.CompletedProcess[str]:
        """``grade check tp-reseau``: the student id is the class's, from ``grade join``."""
        return self.grade("check", "tp-reseau")


def log_in(browser: Any, server: ServerProcess, room: MadeClass) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.url}/login")
    browser.find_element(By.ID, "token").send_keys(room.teacher)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#grid-body tr"),
        timeout_s=10,
        what="the grid",
    )
    wait_for(lambda: "live" in live_state(browser), timeout_s=10, what="the live stream")
    browser.execute_script("window.__sameDocument = true")


def live_state(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.ID, "live").get_attribute("class"))


def cell(browser: Any, student: str, check: str) -> str:
    """A cell's status, read in one go (the page re-renders rows as events come)."""
    return str(
        browser.execute_script(
            "const found = document.querySelector(arguments[0]);"
            "return found ? found.dataset.status : '';",
            f'#grid-body tr[data-student="{student}"] td[data-check="{check}"]',
        )
    )


def students_of(browser: Any, selector: str) -> list[str]:
    """``data-student`` of every element ``selector`` finds, read in one go."""
    return list(
        browser.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.dataset.student);",
            selector,
        )
    )


def statuses(state: dict[str, Any], student: str) -> dict[str, str]:
    row = next(row for row in state["rows"] if row["student"] == student)
    return {check: c["status"] for check, c in row["cells"].items()}


def not_reloaded(browser: Any) -> bool:
    return bool(browser.execute_script("return window.__sameDocument === true"))


def screenshot(browser: Any, path: Path) -> None:
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    keep = os.environ.get(SCREENSHOT_ENV)
    if keep:
        shutil.copyfile(path, keep)


# -- the tests ---------------------------------------------------------------------------------
def test_the_page_shows_a_check_live_and_messages_as_text(
    reseau_setup: LabBuilder, server: ServerProcess, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    room = make_class(server.db_url)
    log_in(browser, server, room)
    ada = Student("ada", tmp_path)
    ada.join(server, room)
    assert cell(browser, "ada", "reseau-cree") == "never"

    done = ada.check()

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"sent to class {room.name}" in done.stdout
    wait_for(
        lambda: all(cell(browser, "ada", c) == "passed" for c in ("reseau-cree", "sans-link")),
        timeout_s=2,
        what="ada's cells to turn passed",
    )
    assert not_reloaded(browser)

    hostile = report("bob", {"redis-attache": HOSTILE})
    assert push(server.url, room.tokens["bob"], hostile).status == 201
    wait_for(lambda: cell(browser, "bob", "redis-attache") == "failed", timeout_s=5, what="bob")
    message = wait_for(
        lambda: browser.find_elements(
            By.CSS_SELECTOR, '.check-card[data-check="redis-attache"] .messages .message'
        ),
        timeout_s=5,
        what="the failure message",
    )
    assert message[0].text == HOSTILE
    bob_cell = browser.find_element(
        By.CSS_SELECTOR, '#grid-body tr[data-student="bob"] td[data-check="redis-attache"]'
    )
    assert HOSTILE in str(bob_cell.get_attribute("title"))
    assert browser.execute_script("return window.__pwned") is None
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    screenshot(browser, tmp_path / "class-view.png")


def test_three_students_a_restart_and_nothing_lost(
    reseau_setup: LabBuilder, server: ServerProcess, browser: Any, tmp_path: Path
) -> None:
    lab = reseau_setup
    redis = lab.containers["redis"]
    room = make_class(server.db_url, name="TP reseau groupe A")
    log_in(browser, server, room)
    ada, bob, cy = (Student(name, tmp_path) for name in ("ada", "bob", "cy"))
    for student in (ada, bob, cy):
        student.join(server, room)

    # ada: the reference, all passed. cy: redis on the second network too (isolation).
    assert ada.check().returncode == 0
    lab.api.connect_container_to_network(redis, "moby-network2")
    try:
        assert cy.check().returncode == 1
    finally:
        lab.api.disconnect_container_from_network(redis, "moby-network2")
    # bob: redis off moby-network; three tries, the last two while the server is down.
    lab.api.disconnect_container_from_network(redis, "moby-network")
    try:
        first = bob.check()
        assert f"sent to class {room.name}" in first.stdout
        server.kill()
        for waiting in (1, 2):
            started = time.monotonic()
            offline = bob.check()
            assert offline.returncode == 1, offline.stdout + offline.stderr  # graded all the same
            assert time.monotonic() - started < 30
            assert f"report kept, {waiting} waiting" in offline.stdout
        wait_for(lambda: "off" in live_state(browser), timeout_s=10, what="the page to notice")
        server.restart()
        wait_for(lambda: "on" in live_state(browser), timeout_s=15, what="the page to reconnect")
        pushed = bob.grade("push")
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        assert f"class {room.name}: 2 sent, 0 waiting" in pushed.stdout
    finally:
        lab.api.connect_container_to_network(redis, "moby-network")

    quiet = cy.grade("check", "tp-reseau", "--no-push")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert f"class {room.name}" not in quiet.stdout  # no push line: nothing sent

    state = class_state(server.url, room.teacher)
    attempts = {row["student"]: row["attempts"] for row in state["rows"]}
    assert attempts == {"ada": 1, "bob": 3, "cy": 1}
    everything = http(f"{server.url}/export/attempts.json", token=room.teacher).body["attempts"]
    assert len(everything) == 5
    assert set(statuses(state, "ada").values()) == {"passed"}
    assert {c: s for c, s in statuses(state, "cy").items() if s != "passed"} == {
        "isolation": "failed"
    }
    assert {c: s for c, s in statuses(state, "bob").items() if s != "passed"} == {
        "redis-attache": "failed",
        "dns-redis": "skipped",
        "app-vers-redis": "skipped",
        "isolation": "skipped",
    }
    assert [(s["student"], s["check"], s["attempts"]) for s in state["stuck"]] == [
        ("bob", "redis-attache", 3)
    ]
    assert [row["student"] for row in state["rows"]] == ["bob", "ada", "cy"]

    # The page followed without a reload: bob on top, stuck, his cell failed.
    wait_for(
        lambda: students_of(browser, "#stuck li") == ["bob"],
        timeout_s=5,
        what="bob in the stuck list",
    )
    assert students_of(browser, "#grid-body tr") == ["bob", "ada", "cy"]
    assert cell(browser, "bob", "redis-attache") == "failed"
    assert cell(browser, "cy", "isolation") == "failed"
    assert not_reloaded(browser)
    screenshot(browser, tmp_path / "class-view.png")


def test_observed_results_beside_the_reported(
    reseau_setup: LabBuilder, tmp_path: Path, engine: Any
) -> None:
    """``grade serve --hosts``: the teacher's grader grades a student's engine on a schedule;
    its results are stored marked observed, beside the student's reported ones."""
    hosts = tmp_path / "hosts.csv"
    endpoint = engine.info.endpoint
    hosts.write_text(f"student,docker_host\nada,{endpoint}\nzed,{endpoint}\n")
    with database_url("sqlite", tmp_path / "db") as url:
        room = make_class(url, students=("ada", "bob"), name="observed")
        options = ["--hosts", str(hosts), "--every", "5", "--class", room.name, "--jobs", "1"]
        with running_server(url, extra=options) as server:
            assert (
                push(server.url, room.tokens["ada"], report("ada", {"isolation": "x"})).status
                == 201
            )
            observed = wait_for(
                lambda: (
                    (s := class_state(server.url, room.teacher, source="observed"))
                    and s["rows"][0]["attempts"]
                    and s
                ),
                timeout_s=60,
                what="an observed grading of ada's engine",
            )
            everything = class_state(server.url, room.teacher)
    ada = observed["rows"][0]
    assert (ada["student"], ada["observed"], ada["reported"]) == ("ada", 1, 0)
    assert {c["source"] for c in ada["cells"].values()} == {"observed"}
    assert set(statuses(observed, "ada").values()) == {"passed"}
    both = next(row for row in everything["rows"] if row["student"] == "ada")
    assert (both["reported"], both["observed"]) == (1, 1)
    assert next(row for row in observed["rows"] if row["student"] == "bob")["attempts"] == 0
