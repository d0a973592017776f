"""API tokens a learner can pass as `--token X`: none begins with "-", which argparse would take
for an option (a random token_urlsafe does 1 time in 64: a benchmark's submit failed so)."""

from __future__ import annotations

from grader.cli.main import build_parser
from grader.service.store.tokens import TOKEN_PREFIX, new_token, token_digest


def test_no_token_begins_with_a_dash_and_each_passes_as_an_option_value() -> None:
    tokens = [new_token() for _ in range(2000)]  # 31 of them, expected, began with "-" before
    assert all(t.startswith(TOKEN_PREFIX) and d == token_digest(t) for t, d in tokens)
    parser = build_parser("submit")
    for token, _ in tokens[:50]:
        args = parser.parse_args(["submit", "p", "f.py", "--server", "http://x", "--token", token])
        assert args.token == token
    assert len({t for t, _ in tokens}) == len(tokens)
