"""Which cases run under which backend.

The Docker rule: every case runs on the local backend (bubblewrap), the full matrix. Under
Docker runs what Docker itself enforces or could do differently: its own limits (memory, pids,
CPU, /tmp), network, filesystem and users, process exits and kills, the channel through the
attached socket (frames, the hidden inputs' release, stdout after it), and one example of each
verdict (plus each problem's accepted one, and an import failure: the image's packages are not
the host's). What the host decides alone from frames that arrived intact (how a malformed frame,
an odd dtype or an exception is reported) runs under Docker for one value, not for each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest


def local_all_docker_some(values: Sequence[Any], docker: Sequence[Any],
                          ids: Callable[[Any], str] = str) -> list[Any]:
    """("sandbox", value) params for `indirect=["sandbox"]`: every value on the local backend,
    those in `docker` on Docker too."""
    assert all(v in values for v in docker), "a Docker case the local matrix lacks"
    return ([pytest.param("local", v, id=f"local-{ids(v)}") for v in values]
            + [pytest.param("docker", v, id=f"docker-{ids(v)}") for v in docker])
