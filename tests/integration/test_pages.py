"""The online judge's pages in a real headless Chromium, against a real `jaxjudge serve`."""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.browser import (
    axe_violations,
    chromium,
    dark,
    have_chromium,
    screenshot,
    sign_in,
    text,
    wait,
    watched,
)
from tests.integration.service import ACCEPTED, EXAMPLES, Server, create_user, wait_done
from tests.specs import SECRET_DIGITS, hidden_tests_problem

WRONG = EXAMPLES / "wrong_answer" / "raw_logits.py"
ATTACK = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
XSS = f'''# {ATTACK}
def reinforce_grad(seed, logits, reward_table, n_samples):
    print("{ATTACK}", flush=True)
    raise ValueError("{ATTACK}")
'''
# Markdown for the statement, with raw HTML that must come out as text, a formula the server
# typesets as MathML, and hints given one at a time.
STATEMENT = (f"# Attacks\n\nEstimate the *gradient* of the expected reward,"
             f" $\\nabla_\\theta \\mathbb{{E}}[R(a)]$.\n\n{ATTACK}\n\n"
             "## Hints\n- First hint.\n- Second hint.\n- Third hint.\n")
TRACKS = "tracks:\n  - {id: sampling, title: Gradients by sampling, problems: [reinforce_grad]}\n"
SLOT_BASE = 20  # jail uids 60020+: this module's graders only


@dataclass
class World:
    server: Server
    tokens: dict[str, str]
    downloads: Path
    ids: dict[str, int] = field(default_factory=dict)  # submissions made by earlier tests

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, who: str) -> httpx.Client:
        return self.server.client(self.tokens[who])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not have_chromium():
        pytest.fail("the page tests need chromium and chromium-driver: run 'make setup'")
    root = tmp_path_factory.mktemp("problems")
    hidden_tests_problem(root)
    (root / "problems" / "reinforce_grad" / "statement.md").write_text(STATEMENT)
    (root / "problems" / "tracks.yaml").write_text(TRACKS)
    data = tmp_path_factory.mktemp("data")
    tokens = {name: create_user(data, root, name, role) for name, role in
              [("alice", "learner"), ("bob", "learner"), ("ines", "instructor")]}
    server = Server(data, root, jobs=1, slot_base=SLOT_BASE)
    try:
        yield World(server, tokens, tmp_path_factory.mktemp("downloads"))
    finally:
        server.stop()


@pytest.fixture
def browser(world: World) -> Iterator[WebDriver]:
    with chromium(world.downloads) as driver:
        yield driver


@contextmanager
def attacker_page(html: str) -> Iterator[str]:
    """Another site's page (another loopback port), served from a thread of this process."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def leaks(page: str) -> list[str]:
    return [s for s in SECRET_DIGITS if s in page]


def editor(driver: WebDriver) -> str:
    """The problem page's editor once mounted; its text."""
    wait(driver, "the editor",
         lambda d: d.find_elements(By.CSS_SELECTOR, "#submit-form .cm-editor"))
    return str(driver.execute_script("return window.jaxjudgeEditor.state.doc.toString()"))


def paste(driver: WebDriver, source: str) -> None:
    """`source` in place of the editor's text, as a paste would put it (typing it would have
    the editor indent each new line)."""
    editor(driver)
    driver.execute_script("const v = window.jaxjudgeEditor; v.dispatch({changes: {from: 0,"
                          " to: v.state.doc.length, insert: arguments[0]},"
                          " userEvent: 'input.paste'})", source)


def submit_in_editor(driver: WebDriver, world: World, source: str) -> int:
    driver.get(world.url + "/problems/reinforce_grad")
    paste(driver, source)
    driver.find_element(By.ID, "submit").click()
    wait(driver, "the submission page", lambda d: "/submissions/" in d.current_url)
    return int(driver.current_url.rsplit("/", 1)[1])


def wait_judged(driver: WebDriver, timeout: float = 240) -> str:
    """The final verdict, once the page has reloaded with the whole report."""
    wait(driver, "the grade", lambda d: d.execute_script(
        "return document.getElementById('status').textContent === 'done'"
        " && !document.getElementById('tests').dataset.events"), timeout)
    return text(driver, "#verdict")


def test_sign_in_and_a_wrong_password_shows_a_message(browser: WebDriver, world: World) -> None:
    browser.get(world.url + "/login")
    browser.find_element(By.ID, "name").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("not-her-password")
    browser.find_element(By.ID, "login-submit").click()
    wait(browser, "the message", lambda d: d.find_elements(By.ID, "login-error"))
    assert "Wrong name or password" in text(browser, "#login-error")
    assert not browser.find_elements(By.ID, "me")
    sign_in(browser, world.url, "alice", "alice-pw")
    assert browser.current_url.rstrip("/") == world.url
    assert "not tried" in text(browser, "#problems")
    browser.find_element(By.ID, "sign-out").click()
    wait(browser, "signed out", lambda d: d.find_elements(By.ID, "sign-in"))


def test_a_problem_page_is_readable_signed_out(browser: WebDriver, world: World) -> None:
    browser.get(world.url + "/problems/reinforce_grad")
    assert text(browser, "#statement h1") == "Attacks"
    assert browser.find_element(By.CSS_SELECTOR, "#statement em").text == "gradient"
    assert ATTACK in text(browser, "#statement")  # raw HTML in Markdown stays text
    formula = browser.find_element(By.CSS_SELECTOR, "#statement math")  # typeset, no script
    assert formula.get_attribute("display") == "inline" and formula.size["height"] > 0
    assert "∇" in formula.text and "Hint" not in text(browser, "#statement")
    assert not browser.find_elements(By.CSS_SELECTOR, ".hint")  # signed out: no hints
    assert text(browser, "#signature").startswith("reinforce_grad(seed: float, logits:")
    examples = text(browser, "#examples")
    assert "shown_first" in examples and "shown_after_a_secret" in examples
    assert "reward_table" in examples and "10." in examples  # an example's input
    assert examples.count("expected") == 2
    assert "secret_one" not in browser.page_source and leaks(browser.page_source) == []
    assert not browser.find_elements(By.ID, "submit-form")
    assert browser.execute_script("return window.pwned") is None
    screenshot(browser, "problem")


def test_an_accepted_file_from_the_editor_is_judged_live(browser: WebDriver,
                                                         world: World) -> None:
    """The editor (CodeMirror over the form's textarea): typing, Tab indenting, Escape then Tab
    leaving it, the draft surviving a reload, and the form posting the editor's text."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation', function (e) {"
        "  window.violations.push(e.violatedDirective + ' ' + e.blockedURI); });")})
    sign_in(browser, world.url, "alice", "alice-pw")
    browser.get(world.url + "/problems/reinforce_grad")
    paste(browser, ACCEPTED.rstrip("\n"))
    assert not browser.find_element(By.ID, "source").is_displayed()  # the editor stands in
    # CodeMirror's own styles apply under the CSP (style-src 'self'): a constructed stylesheet
    assert browser.execute_script(
        "return getComputedStyle(document.querySelector('.cm-editor')).display") == "flex"
    assert browser.find_elements(By.CSS_SELECTOR, ".cm-lineNumbers .cm-gutterElement")
    assert browser.find_elements(By.CSS_SELECTOR, ".cm-content .tok-keyword")  # Python
    content = browser.find_element(By.CSS_SELECTOR, "#submit-form .cm-content")
    content.click()
    content.send_keys(Keys.CONTROL, Keys.END)
    content.send_keys(Keys.ENTER, "# typed here")
    line = browser.execute_script("const s = window.jaxjudgeEditor.state;"
                                  " return s.doc.lineAt(s.selection.main.head).text")
    content.send_keys(Keys.TAB)
    assert editor(browser).endswith("\n    " + line)  # Tab indented the line
    content.send_keys(Keys.ESCAPE, Keys.TAB)  # ...and Escape, Tab leaves the editor
    assert browser.switch_to.active_element.get_attribute("id") == "file"
    typed = editor(browser)
    assert browser.execute_script("return window.violations") == []  # nothing the CSP refused
    assert browser.find_element(By.ID, "source").get_property("value") == typed
    browser.refresh()
    assert editor(browser) == typed  # the draft, kept in the browser
    browser.find_element(By.ID, "submit").click()
    wait(browser, "the submission page", lambda d: "/submissions/" in d.current_url)
    world.ids["accepted"] = int(browser.current_url.rsplit("/", 1)[1])
    assert text(browser, "#source") == typed.strip()  # the post carried the editor's text
    assert wait_judged(browser) == "accepted"
    live = watched(browser)["live"]
    # Each test arrived on its own row through the stream, spread over the grading time.
    assert [row["verdict"] for row in live] == ["accepted"] * 5
    assert [row["points"] for row in live] == ["1 / 1"] * 5  # live.js: earned / possible
    assert live[-1]["t"] - live[0]["t"] > 50  # ms: not one burst at the end
    rows = browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr.judged")
    assert len(rows) == 5 and all("accepted" in r.text for r in rows)
    assert text(browser, "#score") == "1.00" and text(browser, "#points") == "5 / 5"
    assert "def reinforce_grad" in text(browser, "#source")
    # The visible check's picture (issue 23), drawn on the server, within the CSP.
    plots = browser.find_elements(By.CSS_SELECTOR, ".check-plot svg[role=img]")
    assert len(plots) == 1 and plots[0].size["width"] > 200
    title = str(plots[0].find_element(By.CSS_SELECTOR, "title").get_attribute("textContent"))
    assert "Your estimates on 20 seeds against the exact mean" in title
    assert watched(browser).get("csp", []) == []
    screenshot(browser, "submission-accepted")
    browser.get(world.url + "/problems/reinforce_grad")  # accepted: the reference is shown
    assert "def reinforce_grad" in text(browser, "#reference")
    browser.get(world.url + "/")
    assert "solved" in text(browser, "#problems")


def test_a_wrong_file_shows_visible_diffs_and_hides_hidden_tests(
        browser: WebDriver, world: World) -> None:
    sign_in(browser, world.url, "alice", "alice-pw")
    browser.get(world.url + "/problems/reinforce_grad")
    browser.find_element(By.ID, "file").send_keys(str(WRONG))
    browser.find_element(By.ID, "submit").click()
    wait(browser, "the submission page", lambda d: "/submissions/" in d.current_url)
    world.ids["wrong"] = sid = int(browser.current_url.rsplit("/", 1)[1])
    assert wait_judged(browser) == "wrong_answer"
    tests = text(browser, "#tests")
    assert "secret_one hidden" in tests and "secret_two hidden" in tests
    assert browser.find_elements(By.CSS_SELECTOR, ".detail table.diff")  # expected vs got
    assert "expected" in text(browser, ".detail") and "got" in text(browser, ".detail")
    assert browser.find_elements(By.ID, "hints")
    points = [(r.find_element(By.CSS_SELECTOR, ".verdict").text,
               r.find_element(By.CSS_SELECTOR, ".points").text)
              for r in browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr.judged")]
    assert all(p == ("1 / 1" if v == "accepted" else "0 / 1") for v, p in points), points
    assert ("wrong_answer", "0 / 1") in points  # a failed row: none of its point
    won = sum(v == "accepted" for v, _ in points)
    assert text(browser, "#points") == f"{won} / {len(points)}"
    learner = (browser.page_source, browser.find_element(By.TAG_NAME, "body").text)
    assert leaks(learner[0]) == [] and leaks(learner[1]) == []
    screenshot(browser, "submission-wrong")
    with chromium(world.downloads) as instructor:
        sign_in(instructor, world.url, "ines", "ines-pw")
        instructor.get(f"{world.url}/submissions/{sid}")
        assert leaks(instructor.find_element(By.TAG_NAME, "body").text) != []
        assert "hidden: instructors only" in text(instructor, "main")


def test_a_hint_after_a_failure_then_on_request_and_the_track_page(
        browser: WebDriver, world: World) -> None:
    """alice's one failed submission (the test before) offers the first hint; "Show a hint" (a
    form, no script) the second, recorded for her instructor (the instructor test finds it);
    her track's page lists her progress."""
    sign_in(browser, world.url, "alice", "alice-pw")
    browser.get(world.url + "/problems/reinforce_grad")
    assert [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".hint")] == [
        "Hint 1: First hint."]
    browser.find_element(By.ID, "show-hint").click()
    wait(browser, "the second hint",
         lambda d: len(d.find_elements(By.CSS_SELECTOR, ".hint")) == 2)
    assert "Second hint." in text(browser, "#hint-2")
    browser.get(world.url + "/")
    browser.find_element(By.LINK_TEXT, "Gradients by sampling").click()
    wait(browser, "the track page", lambda d: d.current_url.endswith("/tracks/sampling"))
    assert "(1 of 1 solved)" in text(browser, "h1")
    row = text(browser, "#track tbody tr")
    assert "reinforce_grad" in row and "solved" in row
    assert watched(browser)["injected"] == []


def test_a_learner_gets_404_for_another_learners_submission(browser: WebDriver,
                                                            world: World) -> None:
    sid = world.ids.get("wrong") or world.ids["accepted"]
    sign_in(browser, world.url, "bob", "bob-pw")
    browser.get(f"{world.url}/submissions/{sid}")
    assert "404" in text(browser, "h1")
    assert axe_violations(browser) == []  # the error page
    assert "def reinforce_grad" not in browser.page_source
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    r = httpx.get(f"{world.url}/submissions/{sid}", cookies=cookies,
                  headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == 404
    mine = httpx.get(f"{world.url}/submissions", cookies=cookies, timeout=30)
    assert mine.status_code == 200 and "bob (learner)" in mine.text  # the cookie is bob's


def test_learner_text_is_rendered_as_text(browser: WebDriver, world: World) -> None:
    """Source, printed output and an exception message carrying markup: shown, never run,
    neither by the server's templates nor by the live client."""
    sign_in(browser, world.url, "alice", "alice-pw")
    world.ids["xss"] = submit_in_editor(browser, world, XSS)
    assert wait_judged(browser) == "runtime_error"
    assert len(watched(browser)["live"]) == 5  # the live client rendered every row too
    assert watched(browser)["injected"] == []
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    assert not browser.find_elements(By.CSS_SELECTOR, "img")
    assert ATTACK in text(browser, "#source")
    assert ATTACK in text(browser, "#output")
    assert ATTACK in text(browser, "#tests")  # the visible tests' message


def test_a_forged_form_post_is_refused(browser: WebDriver, world: World) -> None:
    """A page on another port of this host is the same site: the browser sends the session
    cookie with its form, so only the CSRF token stands in the way."""
    sign_in(browser, world.url, "alice", "alice-pw")
    before = len(world.api("alice").get("/api/v1/submissions").json())
    forged = (f'<form id="f" method="post" enctype="multipart/form-data"'
              f' action="{world.url}/problems/reinforce_grad/submit">'
              f'<textarea name="source">print(1)</textarea></form>'
              f'<script>document.getElementById("f").submit()</script>')
    with attacker_page(forged) as evil:
        browser.get(evil)
        wait(browser, "the judge's answer", lambda d: d.current_url.startswith(world.url))
    assert "403" in text(browser, "h1") and "CSRF" in text(browser, "#error")
    assert len(world.api("alice").get("/api/v1/submissions").json()) == before


def test_a_run_from_the_editor_is_shown_as_not_graded_and_counts_for_nothing(
        browser: WebDriver, world: World) -> None:
    """bob's Run of a wrong file: the same report view, marked, with the visible tests alone;
    no hint for a failure, "not tried" at home (the instructor test after this one finds it
    in no list, gradebook or rejudge)."""
    sign_in(browser, world.url, "bob", "bob-pw")
    browser.get(world.url + "/problems/reinforce_grad")
    browser.find_element(By.ID, "file").send_keys(str(WRONG))
    browser.find_element(By.ID, "run").click()
    wait(browser, "the run's page", lambda d: "/submissions/" in d.current_url)
    assert wait_judged(browser) == "wrong_answer (Run — not graded)"
    assert "Run — not graded" in text(browser, "#run-note")
    names = [r.find_element(By.CSS_SELECTOR, ".name").text
             for r in browser.find_elements(By.CSS_SELECTOR, "#tests tbody tr.judged")]
    assert names == ["shown_first", "shown_after_a_secret", "unbiased"]
    assert browser.find_elements(By.CSS_SELECTOR, ".detail table.diff")  # visible diffs
    assert leaks(browser.page_source) == []
    browser.get(world.url + "/problems/reinforce_grad")
    assert not browser.find_elements(By.CSS_SELECTOR, ".hint")  # a Run is no failure
    assert "Run — not graded" in text(browser, "main")  # listed among bob's own
    browser.get(world.url + "/")
    assert "not tried" in text(browser, "#problems")


def test_the_instructor_pages(browser: WebDriver, world: World) -> None:
    sign_in(browser, world.url, "ines", "ines-pw")
    browser.get(world.url + "/instructor")
    block = text(browser, "section#reinforce_grad")
    for verdict in ("accepted", "wrong_answer", "runtime_error"):
        assert f"{verdict}" in block
    assert block.count("alice") >= 3
    # alice asked for hint 2 (the first came with her failure): recorded, and shown here.
    assert "alice 1 (#2)" in text(browser, "#hints-reinforce_grad")
    assert "bob" not in text(browser, "#hints-reinforce_grad")
    assert axe_violations(browser) == []
    browser.get(world.url + "/instructor/gradebook")
    assert "alice" in text(browser, "#gradebook") and "1.00" in text(browser, "#gradebook")
    assert axe_violations(browser) == []
    for link, name in (("csv", "gradebook.csv"), ("gradescope", "gradescope.zip")):
        browser.find_element(By.ID, link).click()
        target = world.downloads / name

        def arrived(_: WebDriver, t: Path = target) -> bool:
            return t.exists()

        wait(browser, f"{name} downloaded", arrived, timeout=30)
    csv = (world.downloads / "gradebook.csv").read_text().splitlines()
    assert csv[0] == "user,problem,best_score,submissions,accepted,hints"
    assert "alice,reinforce_grad,1.0000,3,True,1" in csv
    assert not [line for line in csv if line.startswith("bob,")]  # bob made a Run only
    with zipfile.ZipFile(world.downloads / "gradescope.zip") as z:
        result = json.loads(z.read("alice/reinforce_grad/results.json"))
    assert result["score"] == result["max_score"] > 0
    with world.api("ines") as ines:
        graded = {s["id"]: s["verdict"] for s in
                  ines.get("/api/v1/problems/reinforce_grad/submissions").json()}
        assert set(graded) == set(world.ids.values())
        browser.get(world.url + "/instructor")
        browser.find_element(By.ID, "rejudge-reinforce_grad").click()
        wait(browser, "the notice", lambda d: d.find_elements(By.ID, "rejudged"))
        assert "reinforce_grad:3" in text(browser, "#rejudged")
        assert ines.get(f"/api/v1/submissions/{world.ids['accepted']}").json()["attempts"] <= 1
        again = {i: wait_done(ines, i, timeout=300)["verdict"] for i in graded}
    assert again == graded


def test_the_pages_pass_axe_in_light_and_dark(browser: WebDriver, world: World) -> None:
    """axe-core finds no serious or critical violation on the learner's pages, in the light and
    the dark scheme; without its script the problem page's editor is the plain textarea."""
    sid = world.ids.get("accepted") or world.ids.get("wrong") or world.ids["xss"]
    pages = ["/login"]
    browser.get(world.url + pages[0])
    found = {pages[0]: axe_violations(browser)}
    sign_in(browser, world.url, "alice", "alice-pw")
    pages = ["/", "/problems/reinforce_grad", "/tracks/sampling", f"/submissions/{sid}",
             "/submissions", "/account"]
    for scheme in (False, True):
        dark(browser, scheme)
        for page in pages:
            browser.get(world.url + page)
            if page.startswith("/problems/"):
                editor(browser)
            found[("dark " if scheme else "") + page] = axe_violations(browser)
    assert browser.execute_script(
        "return matchMedia('(prefers-color-scheme: dark)').matches") is True
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/static/editor.js"]})
    browser.get(world.url + "/problems/reinforce_grad")
    assert browser.find_element(By.ID, "source").is_displayed()
    assert not browser.find_elements(By.CSS_SELECTOR, ".cm-editor")
    found["no script /problems/reinforce_grad"] = axe_violations(browser)
    assert {page: v for page, v in found.items() if v} == {}
