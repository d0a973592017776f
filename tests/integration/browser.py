"""A real headless Chromium (Debian's chromium and chromium-driver) driven by Selenium."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "output" / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

# Runs before any page script, in every document of the tab (CDP, so the page's CSP does not
# apply): records rows the live client adds, any <img>/<script> element that is not ours, and
# what the CSP blocked, in sessionStorage, which survives the page's reload when grading ends.
WATCH = """
var OURS = ['/static/live.js', '/static/editor.js'];
new MutationObserver(function (changes) {
  var log = JSON.parse(sessionStorage.getItem('watch') || '{"live": [], "injected": []}');
  changes.forEach(function (c) { c.addedNodes.forEach(function (n) {
    if (n.nodeType !== 1) { return; }
    if (n.matches('tr.live')) {
      log.live.push({t: performance.timeOrigin + performance.now(),
                     verdict: n.querySelector('.verdict').textContent,
                     points: n.querySelector('.points').textContent});
    }
    var bad = n.matches('img, script') ? [n] : Array.from(n.querySelectorAll('img, script'));
    bad.forEach(function (e) {
      if (!(e.tagName === 'SCRIPT' && OURS.indexOf(e.getAttribute('src')) >= 0)) {
        log.injected.push(e.outerHTML);
      }
    });
  }); });
  sessionStorage.setItem('watch', JSON.stringify(log));
}).observe(document, {childList: true, subtree: true});
document.addEventListener('securitypolicyviolation', function (e) {
  var log = JSON.parse(sessionStorage.getItem('watch') || '{"live": [], "injected": []}');
  (log.csp = log.csp || []).push(e.violatedDirective + ' ' + (e.sample || ''));
  sessionStorage.setItem('watch', JSON.stringify(log));
});
"""


# axe-core, from web/node_modules (npm ci, run by make setup), injected into the page by the
# driver (not a <script>: the CSP would refuse it, and the pages load nothing of the tests').
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


def have_chromium() -> bool:
    return all(os.access(p, os.X_OK) for p in (CHROMIUM, CHROMEDRIVER))


@contextmanager
def chromium(downloads: Path) -> Iterator[WebDriver]:
    """A fresh browser (no cookies), quit whatever happens."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-proxy-server", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)  # axe.run
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, what: str, check: Callable[[WebDriver], Any],
         timeout: float = 30) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(check, message=what)


def text(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def sign_in(driver: WebDriver, url: str, name: str, password: str) -> None:
    driver.get(url + "/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, f"{name} signed in",
         lambda d: d.find_elements(By.ID, "me") and name in text(d, "#me"))


def watched(driver: WebDriver) -> dict[str, list[Any]]:
    log: dict[str, list[Any]] | None = driver.execute_script(
        "return JSON.parse(sessionStorage.getItem('watch') || 'null')")
    return log or {"live": [], "injected": []}


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page, not just the window: the window grows to the page's height first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height) + 40, 800), 6000))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path



def axe_violations(driver: WebDriver) -> list[str]:
    """axe-core's serious and critical violations on the page now shown, one line each."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run 'make setup' (npm ci in web/)")
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text())
    found: list[dict[str, Any]] = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
          .then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical',
                                                     help: String(e), nodes: []}]));""")
    return [f"{v['id']} ({v['impact']}): {v['help']}: "
            + "; ".join(n["target"][0] if n.get("target") else "?" for n in v["nodes"][:5])
            for v in found if v["impact"] in ("serious", "critical")]


def dark(driver: WebDriver, on: bool) -> None:
    """The system's colour scheme as the page sees it (prefers-color-scheme)."""
    features = [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})
