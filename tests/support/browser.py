"""A headless browser for the class view's page: Debian's Chromium driven by Selenium through
Debian's chromedriver (no browser is downloaded). Without them, the test fails."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.fail("the page tests need Debian's chromium and chromium-driver", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1400,1100", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(argument)
    started = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield started
    finally:
        started.quit()


def read(browser: Any, script: str, *args: Any) -> Any:
    """Run ``script`` in the page and return its value: one read, however often the page
    re-renders meanwhile."""
    return browser.execute_script(script, *args)


def statuses_of(browser: Any, student: str) -> dict[str, str]:
    """The grid's cells of ``student``: check id -> status."""
    return dict(
        read(
            browser,
            "const row = [...document.querySelectorAll('#grid-body tr')]"
            ".find(r => r.dataset.student === arguments[0]);"
            "return row ? [...row.querySelectorAll('td[data-check]')]"
            ".map(c => [c.dataset.check, c.dataset.status]) : [];",
            student,
        )
    )
