"""Headless Chromium for the tests that look at pages as a person would.

Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs them; CI runs
it first). Selenium is pointed at that chromedriver explicitly, so it never tries to
download a driver of its own. A missing browser fails the test, saying how to install
it: these tests are never skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

__all__ = ["chromium"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@contextmanager
def chromium(width: int = 1400, height: int = 800) -> Iterator[Any]:
    """A headless Chromium WebDriver session (quit on exit)."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.fail("headless Chromium is needed: `make browser` installs Debian's chromium "
                    f"and chromium-driver (found browser={browser}, chromedriver={driver_path})")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is needed: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
