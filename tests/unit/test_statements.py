"""Statements on the pages: Markdown with `$…$` / `$$…$$` typeset on the server as MathML made
only of allowlisted elements and attributes, raw HTML escaped, and the Hints section cut out to
be given one at a time."""

from __future__ import annotations

import re

import pytest

from grader.model.problems import list_problems, load_problem
from grader.service.web.statements import hints_shown, mathml, render_statement, split_hints

STATEMENT = r"""# Title

The score is $\nabla_\theta \log \pi_\theta(a)$, costs $5 and $6.

$$
\frac{1}{n} \sum_{i=1}^{n} R_i
$$

<script>window.pwned=1</script> and $\text{<script>x</script>}$ and $\href{javascript:alert(1)}{y}$

## Hints
- First: $x^2$.
- Second, with a list:
  - nested, not a hint of its own
- Third.

## After the hints
Still the statement.
"""


def test_formulas_become_mathml_and_markup_in_a_statement_stays_text() -> None:
    st = render_statement(STATEMENT)
    body = str(st.body)
    # Raw HTML, in the Markdown or smuggled through LaTeX, never becomes an element.
    assert "<script" not in body and "&lt;script&gt;window.pwned=1&lt;/script&gt;" in body
    assert "href" not in body
    assert r'<code class="math-error">\text{&lt;script&gt;x&lt;/script&gt;}</code>' in body
    inline = re.search(r'<span class="math inline">(<math [^>]*>.*?</math>)</span>', body)
    assert inline and 'display="inline"' in inline.group(1)
    assert "<msub><mo>∇</mo><mi>θ</mi></msub>" in inline.group(1)
    assert re.search(r'<math [^>]*display="block"><mrow><mfrac>', body)
    assert "costs $5 and $6." in body  # a `$` beside a digit is money, not a formula
    assert "Still the statement." in body and "Hints" not in body and "nested" not in body


def test_every_element_and_attribute_of_a_formula_is_allowlisted() -> None:
    made = mathml(r"\mathbf{x}^\top \hat{g} = \left[ \frac{a}{b} \right] \color{red} c", False)
    assert made.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML"')
    tags = set(re.findall(r"<([a-z]+)", made))
    assert tags <= {"math", "mrow", "mi", "mn", "mo", "msup", "mover", "mfrac", "mstyle"}
    assert 'mathcolor="red"' in made  # attributes that only change the look are kept
    for bad in (r"\frac{1}{", r"\nosuchcommand x", r"\text{<b>bold</b>}"):
        assert mathml(bad, False).startswith('<code class="math-error">'), bad


def test_the_hints_section_is_cut_out_and_each_item_is_a_hint() -> None:
    body, section = split_hints(STATEMENT)
    assert "## Hints" not in body and "## After the hints" in body
    assert section.lstrip().startswith("- First")
    hints = render_statement(STATEMENT).hints
    assert len(hints) == 3
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in hints[0]
    assert "nested" in hints[1] and "Third." in hints[2]
    assert render_statement("# No hints\n").hints == ()
    # One per failure, plus one per hint asked for, never more than there are.
    assert [hints_shown(3, f, t) for f, t in [(0, 0), (1, 0), (1, 1), (5, 0), (0, 9)]] == \
        [0, 1, 2, 3, 3]


@pytest.mark.parametrize("problem_id", sorted(p.id for p in list_problems()))
def test_every_formula_of_every_statement_typesets(problem_id: str) -> None:
    """A formula latex2mathml cannot typeset would show its LaTeX source on the page."""
    problem = load_problem(problem_id)
    st = render_statement(problem.statement())
    for part in (st.body, *st.hints):
        bad = re.findall(r'<code class="math-error">(.*?)</code>', str(part))
        assert bad == [], bad
        assert not re.search(r"\$\\", re.sub(r"<code>.*?</code>", "", str(part), flags=re.S)), \
            "an unclosed or unparsed $\\…$"


SECTIONS = ["Why this matters", "Worked mini-example", "Common pitfalls", "Problem", "Hints"]


def test_every_statement_has_the_tracks_five_sections_in_order() -> None:
    """Issue 21's shape, the first three problems included: why, a worked example (checked
    against the reference in test_references), pitfalls, the problem, hints."""
    shapes = {p.id: re.findall(r"^## (.+)$", p.statement(), re.M) for p in list_problems()}
    assert {k: v for k, v in shapes.items() if v != SECTIONS} == {}
    assert len(shapes) >= 20
