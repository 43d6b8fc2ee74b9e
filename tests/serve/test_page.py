"""The teacher's page in headless Chromium, fed by pushed reports (no engine: the engine tests
push real ``grade check`` runs): the log-in form, names written as text, one student's
timeline, the lenses, the exports, logging out.

The page does not depend on the database: these run on SQLite only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, read, statuses_of
from tests.support.class_server import (
    MadeClass,
    ServerProcess,
    database_url,
    make_class,
    push,
    report,
)
from tests.support.wait import wait_for

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("serve-page")

HOSTILE_NAME = "<i>eve</i>"


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database_url("sqlite", tmp_path_factory.mktemp("page")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium")) as started:
        yield started


@pytest.fixture(scope="module")
def room(server: ServerProcess) -> MadeClass:
    made = make_class(server.db_url, students=("ada", "bob", HOSTILE_NAME))
    for failing in ({"redis-attache": "no redis"}, {"isolation": "10.0.0.2"}, {}):
        assert push(server.url, made.tokens["bob"], report("bob", failing)).status == 201
    return made


def log_in(browser: Any, server: ServerProcess, token: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.url}/login")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_a_wrong_token_stays_on_the_form(
    server: ServerProcess, browser: Any, room: MadeClass
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, server, "not-the-token")

    # The form is posted: the answer's page comes when it comes (a busy machine).
    alert = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "[role=alert]"),
        timeout_s=15,
        what="the login page's answer",
    )[0]
    assert alert.text == "This token is no class's teacher token."
    assert browser.current_url == f"{server.url}/login"


def test_the_grid_the_timeline_the_lenses_and_logging_out(
    server: ServerProcess, browser: Any, room: MadeClass
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, server, room.teacher)
    wait_for(lambda: statuses_of(browser, "bob"), timeout_s=10, what="the grid")

    # A student id is written as text.
    names = read(
        browser, "return [...document.querySelectorAll('button.student')].map(b => b.textContent)"
    )
    assert names == ["ada", "bob", HOSTILE_NAME]
    assert read(browser, "return document.querySelectorAll('#grid-body i').length") == 0
    assert set(statuses_of(browser, "bob").values()) == {"passed"}
    assert set(statuses_of(browser, "ada").values()) == {"never"}

    # bob's timeline: three attempts, oldest last in the list, the score chart's points.
    browser.find_element(By.XPATH, "//button[@class='student' and text()='bob']").click()
    dialog = wait_for(
        lambda: (d := browser.find_element(By.ID, "timeline")).is_displayed() and d,
        timeout_s=5,
        what="the timeline",
    )
    assert "bob" in dialog.find_element(By.ID, "timeline-title").text
    assert len(dialog.find_elements(By.CSS_SELECTOR, "#timeline-list > li")) == 3
    assert len(dialog.find_elements(By.CSS_SELECTOR, "circle.dot")) == 3
    assert "no redis" in dialog.find_elements(By.CSS_SELECTOR, "#timeline-list > li")[-1].text
    dialog.find_element(By.CSS_SELECTOR, "form[method=dialog] button").click()

    # The observed lens: nothing observed yet.
    browser.find_element(By.CSS_SELECTOR, "#source option[value=observed]").click()
    wait_for(
        lambda: set(statuses_of(browser, "bob").values()) == {"never"},
        timeout_s=5,
        what="the observed lens",
    )
    best = browser.find_element(By.ID, "export-best").get_attribute("href")
    assert best == f"{server.url}/export/gradebook.csv?lab=tp-reseau&source=observed&pick=best"

    browser.find_element(By.CSS_SELECTOR, "nav form button").click()
    wait_for(lambda: browser.current_url == f"{server.url}/login", timeout_s=5, what="log out")
    browser.get(f"{server.url}/")
    assert browser.current_url == f"{server.url}/login"


def test_the_page_asks_nothing_outside(
    server: ServerProcess, room: MadeClass, tmp_path: Path
) -> None:
    """Everything the page loads comes from the server itself (no CDN: nothing external)."""
    from tests.support.class_server import http, login

    cookie = login(server.url, room.teacher)
    page = http(f"{server.url}/", cookie=cookie).body
    assert "http://" not in page.replace(server.url, "")
    assert "https://" not in page
    for asset in ("/static/class.js", "/static/class.css"):
        text = http(f"{server.url}{asset}").body
        assert "http" not in text.replace("http://www.w3.org/2000/svg", "")
