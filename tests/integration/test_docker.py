"""The images and the Docker backend against the real engine: contents, the judge container's
own isolation, removal on every path, and a clear error without an engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from grader.sandbox.container import DockerSandbox

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "submissions" / "reinforce_grad"


def _docker(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def _runners(pid: int | None = None) -> list[str]:
    """Runner containers made by the judge process `pid` (default: this one). Only ours count:
    another pytest-xdist worker's, or another run's on this host, come and go meanwhile.
    Sparse: the SDK would otherwise inspect each listed container, and one removed between the
    list and its inspection (a ready container replaced) raised NotFound here."""
    client = docker.from_env()
    labels = ["jaxjudge=runner", f"jaxjudge.pid={pid or os.getpid()}"]
    return [c.id for c in client.containers.list(all=True, filters={"label": labels},
                                                 sparse=True)]


def test_runner_image_holds_no_problem_reference_or_example(docker_sandbox: DockerSandbox) -> None:
    found = _docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh",
                    "jaxjudge:runner", "-c",
                    "id -u; find / -xdev \\( -name 'reinforce*' -o -name problem.yaml "
                    "-o -name 'reparam*' -o -name '*.whl' \\) "
                    "-not -path '/usr/share/python-wheels/*' 2>/dev/null; command -v gcc cc "
                    "|| true; ls /opt/venv/bin | grep -E '^(pip|wheel)' || true")
    lines = found.stdout.split()
    assert lines[0] == "60000"  # not root
    # No problem files, none of our wheels (Debian's ensurepip bundle aside), no compiler, no
    # installer in the venv.
    assert lines[1:] == [], lines


def test_judge_image_keeps_no_installer_either(docker_sandbox: DockerSandbox) -> None:
    found = _docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh",
                    "jaxjudge:judge", "-c", "ls /opt/venv/bin; command -v gcc cc || true")
    assert "jaxjudge" in found.stdout.split()
    assert not [b for b in found.stdout.split() if b.startswith(("pip", "wheel"))]


def test_the_judge_container_grades_as_documented(docker_sandbox: DockerSandbox) -> None:
    for example, code, verdict in [(EX / "accepted" / "onehot_minus_softmax.py", 0, "accepted"),
                                   (EX / "wrong_answer" / "raw_logits.py", 1, "wrong_answer")]:
        run = _docker("run", "--rm", "--network", "none", "-v", f"{example}:/in/my.py:ro",
                      "jaxjudge:judge", "grade", "reinforce_grad", "/in/my.py", "--format", "json")
        assert run.returncode == code, run.stderr[-2000:]
        report = json.loads(run.stdout)
        assert report["verdict"] == verdict
    assert "log_softmax" in report["feedback"][0]


SNOOP = '''
import os
import jax
import jax.numpy as jnp

def reinforce_grad(seed, logits, reward_table, n_samples):
    if os.getuid() == 0:
        raise RuntimeError("LEAK: running as root")
    for path in ["/app/reference/reinforce_grad.py", "/app/problems/reinforce_grad/problem.yaml",
                 "/app/submissions/reinforce_grad/accepted/onehot_minus_softmax.py"]:
        try:
            open(path).read()
        except OSError:
            continue
        raise RuntimeError("LEAK: read " + path)
    for folder in ["/app", "/var/cache/jaxjudge/private"]:
        try:
            os.listdir(folder)
        except OSError:
            continue
        raise RuntimeError("LEAK: listed " + folder)
    for target in ["/var/cache/jaxjudge/xla/planted", "/app/x"]:
        try:
            open(target, "w").write("x")
        except OSError:
            continue
        raise RuntimeError("LEAK: wrote " + target)
    actions = jax.random.categorical(jax.random.PRNGKey(int(seed)), logits,
                                     shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(logits)
    return jnp.mean(reward_table[actions][:, None] * score, axis=0)
'''


def _accepted_in_the_judge_container(source: str, tmp_path: Path) -> None:
    """`source` graded by the judge image as documented, and accepted: the file raises on any
    leak it finds."""
    path = tmp_path / "attack.py"
    path.write_text(source)
    path.chmod(0o644)
    run = _docker("run", "--rm", "--network", "none", "-v", f"{path}:/in/my.py:ro",
                  "jaxjudge:judge", "grade", "reinforce_grad", "/in/my.py", "--format", "json")
    report = json.loads(run.stdout)
    assert report["verdict"] == "accepted", [t.get("message") for t in report["tests"]][:3]


def test_learner_code_in_the_judge_container_cannot_read_references(
        docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    _accepted_in_the_judge_container(SNOOP, tmp_path)


# Through the judge image's own compile cache, which uid 60000 shares a filesystem with: which
# of reinforce_grad's sampling shapes hit it, in the visible phase (the first call). (1, 1000)
# and (64, 5000) are hidden tests' alone; (2, 1000) a visible one's.
STORE_PROBE = '''
import jax, jax.monitoring, jax.numpy as jnp, numpy as np
from jax._src import compilation_cache

HITS, FOUND = [], []
jax.monitoring.register_event_listener(
    lambda event, **_: HITS.append(1) if event == "/jax/compilation_cache/cache_hits" else None)


def probe():
    view = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", "/var/cache/jaxjudge/xla")
    compilation_cache.reset_cache()
    key = jax.random.PRNGKey(jnp.int32(0))
    for k, n in ((2, 1000), (1, 1000), (64, 5000)):
        before = len(HITS)
        try:
            jax.random.categorical(key, jnp.asarray(np.zeros(k, np.float32)),
                                   shape=(n,)).block_until_ready()
        except Exception:
            continue
        if len(HITS) > before:
            FOUND.append((k, n))
    jax.config.update("jax_compilation_cache_dir", view)
    compilation_cache.reset_cache()


def reinforce_grad(seed, logits, reward_table, n_samples):
    if not FOUND and not HITS:
        probe()
        hidden = [s for s in FOUND if s != (2, 1000)]
        if hidden:
            raise RuntimeError(f"LEAK: hidden shapes {hidden}")
    key = jax.random.PRNGKey(jnp.int32(seed))
    actions = jax.random.categorical(key, jnp.asarray(logits), shape=(int(n_samples),))
    score = jax.nn.one_hot(actions, logits.shape[0]) - jax.nn.softmax(jnp.asarray(logits))
    return jnp.mean(jnp.asarray(reward_table)[actions][:, None] * score, axis=0)
'''


def test_learner_code_in_the_judge_container_cannot_probe_its_compile_cache(
        docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    _accepted_in_the_judge_container(STORE_PROBE, tmp_path)


# Ctrl-C's SIGINT as a terminal sends it: a suite started in the background (make test's docker
# session, or `nohup make test &`) has SIGINT ignored, which a shell cannot undo and every child
# inherits, and the judge would then grade on to its verdict. The judge gets it at default.
SIGINT_AT_DEFAULT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                     "os.execv(sys.argv[1], sys.argv[1:])")


def test_interrupting_the_judge_removes_the_container(docker_sandbox: DockerSandbox) -> None:
    judge = subprocess.Popen([sys.executable, "-c", SIGINT_AT_DEFAULT,
                              sys.executable, "-m", "grader.cli", "grade", "reinforce_grad",
                              str(EX / "time_limit_exceeded" / "endless_loop.py"),
                              "--backend", "docker"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not _runners(judge.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _runners(judge.pid), "no runner container appeared"
        time.sleep(2)  # mid-test, inside the learner's loop
        judge.send_signal(signal.SIGINT)
        assert judge.wait(timeout=60) == 2
    finally:
        if judge.poll() is None:
            judge.kill()
            judge.wait()
    assert _runners(judge.pid) == []


def test_a_missing_engine_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "reinforce_grad",
                          str(EX / "accepted" / "onehot_minus_softmax.py"), "--backend", "docker"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                         check=False)
    assert run.returncode == 2
    assert "cannot reach the Docker engine" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.usefixtures("docker_sandbox")
def test_no_runner_container_is_left_behind() -> None:
    assert _runners() == []
