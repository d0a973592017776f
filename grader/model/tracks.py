"""problems/tracks.yaml: the tracks a learner climbs, in order, each an ordered list of problems.

Loaded strictly like a spec: unknown keys are rejected, and every failure is one SpecError naming
the file, the key path (`tracks.1.problems.0`) and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, ValidationError

from grader.errors import SpecError
from grader.model.problems import Problem, default_root
from grader.model.strict import Strict

PROBLEM_ID = r"^[a-z][a-z0-9_]*$"


class Track(Strict):
    id: str = Field(pattern=PROBLEM_ID)
    title: str = Field(min_length=1)
    problems: list[Annotated[str, Field(pattern=PROBLEM_ID)]] = Field(
        min_length=1, description="problem ids in the order to solve them")


class Tracks(Strict):
    tracks: list[Track] = Field(min_length=1)

    def track_of(self, problem_id: str) -> Track | None:
        return next((t for t in self.tracks if problem_id in t.problems), None)

    def neighbours(self, problem_id: str) -> tuple[str | None, str | None]:
        """The previous and next problem in its track (None at either end or off every track)."""
        track = self.track_of(problem_id)
        if track is None:
            return None, None
        i = track.problems.index(problem_id)
        prev = track.problems[i - 1] if i > 0 else None
        nxt = track.problems[i + 1] if i + 1 < len(track.problems) else None
        return prev, nxt


def tracks_path(root: Path | None = None) -> Path:
    return (root or default_root()) / "problems" / "tracks.yaml"


def load_tracks(root: Path | None = None) -> Tracks:
    """Parse problems/tracks.yaml under `root`; every problem id must have its problem folder."""
    root = root or default_root()
    path = tracks_path(root)
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(where, "", f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(where, line, f"malformed YAML: {problem}") from exc
    if not isinstance(raw, dict):
        raise SpecError(where, "", "expected a mapping with the key `tracks`")
    try:
        tracks = Tracks.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also reads as the right one missing: name the misspelling.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key; remove it or fix its spelling (keys: id, title, problems)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise SpecError(where, key, msg + more) from exc
    known = {p.parent.name for p in (root / "problems").glob("*/problem.yaml")}
    seen: dict[str, str] = {}
    track_ids: set[str] = set()
    for t_i, track in enumerate(tracks.tracks):
        if track.id in track_ids:
            raise SpecError(where, f"tracks.{t_i}.id", f"track {track.id!r} is listed twice")
        track_ids.add(track.id)
        for p_i, pid in enumerate(track.problems):
            key = f"tracks.{t_i}.problems.{p_i}"
            if pid not in known:
                raise SpecError(where, key, f"unknown problem {pid!r} (no problems/{pid}/"
                                            f"problem.yaml; known: {', '.join(sorted(known))})")
            if pid in seen:
                raise SpecError(where, key, f"problem {pid!r} is already in track {seen[pid]!r}"
                                            "; a problem belongs to one track")
            seen[pid] = track.id
    return tracks


def optional_tracks(root: Path | None = None) -> Tracks | None:
    """The tracks, or None for a problem folder without tracks.yaml (a course's own set); a
    tracks.yaml that exists but is wrong is still an error."""
    return load_tracks(root) if tracks_path(root).is_file() else None


OTHER = "Other problems"


def grouped(problems: list[Problem], tracks: Tracks | None) -> list[tuple[str, list[Problem]]]:
    """The problems as a learner climbs them: each track's in its order, then those on no track
    (sorted by id) under OTHER; no tracks at all is one group, "Problems"."""
    if tracks is None:
        return [("Problems", problems)] if problems else []
    by_id = {p.id: p for p in problems}
    groups = [(t.title, [by_id[i] for i in t.problems if i in by_id]) for t in tracks.tracks]
    placed = {i for t in tracks.tracks for i in t.problems}
    rest = [p for p in problems if p.id not in placed]
    return [(title, ps) for title, ps in [*groups, (OTHER, rest)] if ps]
