"""problems/tracks.yaml: the shipped tracks load in issue 21's order; every bad file is one
SpecError naming the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import SpecError
from grader.model.problems import list_problems
from grader.model.tracks import load_tracks, tracks_path

PROBLEMS = ("alpha", "beta", "gamma")


def test_shipped_tracks_in_issue_order_cover_every_problem_once() -> None:
    tracks = load_tracks()
    assert [t.title for t in tracks.tracks] == [
        "Monte-Carlo gradients", "Policy gradients", "JAX core"]
    mc, pg, core = (t.problems for t in tracks.tracks)
    assert mc[:3] == ["reparam_grad", "reinforce_grad", "reinforce_baseline_grad"]
    assert pg[0] == "discounted_returns" and pg[-1] == "ppo_clip_objective"
    assert core[0] == "per_example_grads"
    issue = ["discounted_returns", "policy_gradient_rtg", "gae_advantages", "ppo_clip_objective"]
    assert [p for p in pg if p in issue] == issue
    assert "adam_step" in core[1:]
    listed = [p for t in tracks.tracks for p in t.problems]
    assert sorted(listed) == sorted(p.id for p in list_problems())
    assert tracks.neighbours("reinforce_grad") == ("reparam_grad", "reinforce_baseline_grad")
    assert tracks.neighbours("discounted_returns")[0] is None


def _root(tmp_path: Path, text: str) -> Path:
    for pid in PROBLEMS:
        (tmp_path / "problems" / pid).mkdir(parents=True)
        (tmp_path / "problems" / pid / "problem.yaml").write_text("id: " + pid + "\n")
    tracks_path(tmp_path).write_text(text, encoding="utf-8")
    return tmp_path


GOOD = "tracks:\n  - {id: one, title: One, problems: [alpha, beta]}\n" \
       "  - {id: two, title: Two, problems: [gamma]}\n"


def test_valid_file_loads_in_order(tmp_path: Path) -> None:
    tracks = load_tracks(_root(tmp_path, GOOD))
    assert [(t.id, t.problems) for t in tracks.tracks] == [
        ("one", ["alpha", "beta"]), ("two", ["gamma"])]
    assert tracks.neighbours("alpha") == (None, "beta")
    assert tracks.neighbours("gamma") == (None, None)
    assert tracks.track_of("beta") is tracks.tracks[0]


# (file text, key path the error must name, words the message must contain)
INVALID = [
    (GOOD + "extra: 1\n", "extra", "unknown key"),
    ("tracks:\n  - {id: one, titel: One, problems: [alpha]}\n", "tracks.0.titel", "unknown key"),
    ("tracks:\n  - {id: one, title: One, problems: [alpha]}\n"
     "  - {id: two, title: Two, problems: [gamma, nope]}\n",
     "tracks.1.problems.1", "unknown problem 'nope' (no problems/nope/problem.yaml"),
    ("tracks:\n  - {id: one, title: One, problems: [alpha]}\n"
     "  - {id: two, title: Two, problems: [beta, alpha]}\n",
     "tracks.1.problems.1", "already in track 'one'"),
    ("tracks:\n  - {id: one, title: One, problems: [alpha]}\n"
     "  - {id: one, title: Two, problems: [beta]}\n", "tracks.1.id", "listed twice"),
    ("tracks:\n  - {id: one, title: One, problems: [Alpha!]}\n", "tracks.0.problems.0",
     "pattern"),
    ("tracks:\n  - {id: one, title: One, problems: []}\n", "tracks.0.problems", "at least 1"),
    ("tracks:\n  - {id: one, title: One}\n", "tracks.0.problems", "Field required"),
    ("tracks: [\n", "line 2", "malformed YAML"),
    ("- alpha\n", "", "mapping"),
]


@pytest.mark.parametrize(("text", "key", "words"), INVALID)
def test_invalid_file_names_file_and_key(tmp_path: Path, text: str, key: str,
                                         words: str) -> None:
    root = _root(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_tracks(root)
    err = info.value
    assert err.path == str(tracks_path(root))
    assert err.key.startswith(key) if key else err.key == ""
    assert words in err.message, err.message
    assert "\n" not in str(err)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "problems").mkdir()
    with pytest.raises(SpecError, match=r"tracks\.yaml: cannot read"):
        load_tracks(tmp_path)
