"""Pictures of the estimator (issue 23): a visible check's few numbers, drawn as inline SVG.

Biased, noisy and right estimators give different pictures: asserted on the SVG's elements
(the points outside the band, the mean's marker off the exact value), on synthetic draws where
the truth is known."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from grader.judging.pictures import SAMPLE, alt_text, picture
from grader.judging.statistics import trusted_data, z_threshold
from grader.model.checks import MeanCheck, SumZeroCheck, VarianceCheck
from grader.model.problems import Problem, load_problem
from grader.model.report import Report, TestResult, fit, json_bytes, redact
from grader.service.settings import Settings
from grader.service.store.models import Status, SubmissionRow
from grader.service.store.users import create_user
from grader.service.web.app import create_app
from grader.service.web.plots import check_plot
from grader.verdict import Verdict

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def problem() -> Problem:
    return load_problem("reinforce_grad")


def _draws(mean: np.ndarray, var: np.ndarray, seeds: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list(rng.normal(mean, np.sqrt(var), size=(seeds, *mean.shape)).astype(np.float32))


def _svg(plot: dict[str, Any] | None, prefix: str = "p0") -> ET.Element:
    assert plot is not None
    drawn = check_plot(plot, prefix)
    assert drawn is not None
    root = ET.fromstring(str(drawn))
    # What the site's CSP (no inline style, no script) would block is not there.
    assert not any("style" in el.attrib or el.tag in (f"{SVG}style", f"{SVG}script")
                   for el in root.iter())
    ids = [str(el.get("id")) for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)) and all(i.startswith(f"{prefix}-") for i in ids)
    title = root[0]
    assert root.get("role") == "img" and title.tag == f"{SVG}title"
    assert root.get("aria-labelledby") == title.get("id") and title.text == alt_text(plot)
    return root


def _points(root: ET.Element, group: str) -> int:
    """The markers drawn in groups whose id ends with `group` (one per panel)."""
    return sum(len(list(g.iter(f"{SVG}use"))) for g in root.iter(f"{SVG}g")
               if str(g.get("id", "")).endswith(f"-{group}"))


def _has(root: ET.Element, suffix: str) -> bool:
    return any(str(el.get("id", "")).endswith(suffix) for el in root.iter())


def test_right_biased_and_noisy_estimators_look_different(problem: Problem) -> None:
    check = next(c for c in problem.spec.statistics if isinstance(c, MeanCheck))
    trusted = trusted_data(problem, check)
    mu, var = trusted["expectation"], trusted["variance"]
    z = z_threshold(problem.spec)
    se = np.sqrt(var / check.seeds)
    bias = np.where(np.arange(mu.size) == 2, 8 * se, 0.0)
    cases = {"right": _draws(mu, var, check.seeds), "biased": _draws(mu + bias, var, check.seeds),
             "noisy": _draws(mu, 9 * var, check.seeds)}
    drawn = {}
    for name, draws in cases.items():
        plot = picture(problem, check, draws, trusted, z)
        assert plot is not None and len(plot["components"]) == mu.size
        assert all(len(c["values"]) == min(SAMPLE, check.seeds) for c in plot["components"])
        drawn[name] = (plot, _svg(plot))
    shown = min(SAMPLE, check.seeds) * mu.size
    right, biased, noisy = (drawn[k][1] for k in ("right", "biased", "noisy"))
    # Right: most estimates inside exact ± 2 sd, every mean's margin holds the exact value.
    assert _points(right, "outside") < 0.15 * shown
    assert _points(right, "inside") + _points(right, "outside") == shown
    assert not _has(right, "mean-off") and _has(right, "mean-on")
    # Biased: the farthest component is drawn first, its mean's margin misses the exact value.
    plot = drawn["biased"][0]
    assert plot["components"][0]["index"] == [2] and plot["components"][0]["z"] > 5
    assert _has(biased, "c0-mean-off") and not _has(biased, "c1-mean-off")
    assert "component (2,): the mean of your estimates" in alt_text(plot)
    assert "standard errors above the exact value" in alt_text(plot)
    # Noisy (3 times the spread): about half the estimates fall outside the band.
    assert _points(noisy, "outside") > 0.35 * shown


def test_a_variance_ratio_draws_both_variances_and_the_band(problem: Problem) -> None:
    check = next(c for c in problem.spec.statistics if isinstance(c, VarianceCheck))
    trusted = trusted_data(problem, check)
    against = float(trusted["against_variance"])
    z = z_threshold(problem.spec)
    for scale, inside in ((1.0, True), (10.0, False), (0.0, False)):
        draws = _draws(np.zeros(4), np.full(4, scale * against / 4), check.seeds)
        plot = picture(problem, check, draws, trusted, z)
        assert plot is not None and plot["reference"] == pytest.approx(against, rel=1e-3)
        root = _svg(plot)
        assert _has(root, "yours-in") is inside and _has(root, "yours-out") is not inside
        assert _has(root, "reference") and _has(root, "allowed")


def test_an_invariant_draws_its_per_seed_sums(problem: Problem) -> None:
    check = next(c for c in problem.spec.statistics if isinstance(c, SumZeroCheck))
    z = z_threshold(problem.spec)
    draws = _draws(np.zeros(4), np.ones(4), check.seeds)
    right = [d - d.mean() for d in draws]
    broken = [d + (1.0 if i % 5 == 0 else 0.0) for i, d in enumerate(right)]
    drawn = {}
    for name, outs in (("right", right), ("broken", broken)):
        plot = picture(problem, check, outs, {}, z)
        assert plot is not None and len(plot["values"]) == min(SAMPLE, check.seeds)
        drawn[name] = plot, _svg(plot)
    assert _points(drawn["right"][1], "outside") == 0
    assert _points(drawn["broken"][1], "outside") == len(range(0, min(SAMPLE, check.seeds), 5))
    seed, value = drawn["broken"][0]["worst"]  # the sum of 4 components, each 1 off
    assert (seed - check.seed_offset) % 5 == 0 and value == pytest.approx(4.0, rel=1e-3)


def test_no_picture_of_what_cannot_be_judged_and_none_of_forged_data(problem: Problem) -> None:
    check = next(c for c in problem.spec.statistics if isinstance(c, MeanCheck))
    trusted = trusted_data(problem, check)
    z = z_threshold(problem.spec)
    nan = [np.full(4, np.nan, np.float32)] * check.seeds
    assert picture(problem, check, nan, trusted, z) is None
    assert picture(problem, check, [np.zeros(3, np.float32)] * check.seeds, trusted, z) is None
    good = picture(problem, check, _draws(trusted["expectation"], trusted["variance"],
                                          check.seeds), trusted, z)
    assert good is not None
    # A stored report is read back from the database: anything but numbers draws nothing.
    forged = json.loads(json.dumps(good))
    forged["components"][0]["values"][0] = "<script>alert(1)</script>"
    assert check_plot(forged, "p0") is None
    assert check_plot({**good, "threshold": float("inf")}, "p0") is None
    assert check_plot({"kind": "<b>"}, "p0") is None and check_plot(good, 'p"><x') is None


def test_the_plot_data_is_bounded_and_goes_first_when_a_report_is_cut() -> None:
    """5,000 seeds of a 100,000-component output keep a few kilobytes: COMPONENTS panels of
    SAMPLE values; a cut report loses them with the other values."""
    problem = load_problem("reinforce_grad")
    check = next(c for c in problem.spec.statistics if isinstance(c, MeanCheck))
    z = z_threshold(problem.spec)
    big = check.model_copy(update={"seeds": 5000})
    rng = np.random.default_rng(1)
    outs = list(rng.normal(size=(5000, 4)))
    trusted = {"expectation": np.zeros(4), "variance": np.ones(4)}
    plot = picture(problem, big, outs, trusted, z)
    assert plot is not None and json_bytes(plot) < 4000
    test = TestResult("unbiased", Verdict.ACCEPTED, True, 1.0, "x" * 10_000, statistical=True,
                      plot=plot)
    full = Report("reinforce_grad", "s.py", [test], [], {}, 1.0).to_dict(True)
    assert redact(full)["tests"][0]["plot"] == plot
    assert "plot" not in fit(full, json_bytes(full) - 1)["tests"][0]


def test_the_page_draws_a_visible_checks_picture_and_never_a_hidden_ones(
        problem: Problem, tmp_path: Path) -> None:
    """The submission page, as the learner and as an instructor: `.check-plot svg` with its
    alt text for the visible check; none for the hidden one, even with plot data forged into
    its stored report."""
    check = next(c for c in problem.spec.statistics if isinstance(c, MeanCheck))
    trusted = trusted_data(problem, check)
    plot = picture(problem, check, _draws(trusted["expectation"], trusted["variance"],
                                          check.seeds), trusted, z_threshold(problem.spec))
    assert plot is not None
    tests = [TestResult("unbiased", Verdict.ACCEPTED, True, 1.0, "fine", statistical=True,
                        plot=plot),
             TestResult("secret", Verdict.WRONG_ANSWER, False, 1.0, "biased", statistical=True)]
    stored = Report("reinforce_grad", "s.py", tests, [], {}, 1.0).to_dict(True)
    stored["tests"][1]["plot"] = plot  # as if a judge had kept it
    app = create_app(Settings(data=tmp_path, jobs=0))
    db = app.state.db
    learner, token, _ = create_user(db, "lea", "learner")
    _, staff_token, _ = create_user(db, "ines", "instructor")
    with db.session() as s:
        sub = SubmissionRow(user_id=learner.id, problem="reinforce_grad", filename="s.py",
                            source=b"x = 1\n", sha256="0" * 64, status=Status.DONE,
                            verdict="wrong_answer", score=0.5, report=stored)
        s.add(sub)
        s.flush()
        sid = sub.id
    with TestClient(app) as http:
        for who in (token, staff_token):
            page = http.get(f"/submissions/{sid}", headers={"Authorization": f"Bearer {who}"})
            assert page.status_code == 200
            figures = re.findall(r'<figure class="card check-plot"[^>]*>(.*?)</figure>',
                                 page.text, re.S)
            assert len(figures) == 1 and "<figcaption>unbiased: accepted</figcaption>" in \
                figures[0]
            svg = ET.fromstring(figures[0][figures[0].index("<svg"):])
            assert svg[0].tag == f"{SVG}title" and svg[0].text == alt_text(plot)
