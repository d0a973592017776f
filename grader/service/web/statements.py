"""Statements as pages show them: Markdown to HTML with `$…$` and `$$…$$` formulas typeset on the
server as MathML (no script on the page: the CSP allows none inline and nothing from elsewhere),
and the statement's *Hints* section cut out, one hint at a time being the page's decision.

Statements are staff-written, and still nothing in them becomes markup the renderer did not
make: raw HTML in the Markdown is escaped (html=False), and a formula's MathML is rebuilt from
an allowlist of MathML elements and attributes (latex2mathml passes `\\text{<script>}` and
`\\href{javascript:…}` through as they are); a formula with anything else, or that does not
parse, is shown as its LaTeX source, escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape
from mdit_py_plugins.dollarmath import dollarmath_plugin

MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"
# MathML Core's presentation elements (what latex2mathml makes of LaTeX), and their attributes
# that change only how a formula looks: no href, no style, no event handler, no id.
ELEMENTS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
    "munder", "mover", "munderover", "mfrac", "msqrt", "mroot", "mstyle", "mpadded", "mphantom",
    "menclose", "mtable", "mtr", "mtd", "mfenced", "merror", "mmultiscripts", "mprescripts",
    "none", "semantics", "annotation"})
ATTRIBUTES = frozenset({
    "display", "displaystyle", "scriptlevel", "mathvariant", "stretchy", "fence", "separator",
    "accent", "accentunder", "largeop", "movablelimits", "symmetric", "form", "lspace",
    "rspace", "minsize", "maxsize", "width", "height", "depth", "voffset", "linethickness",
    "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
    "frame", "framespacing", "notation", "open", "close", "separators", "columnspan",
    "rowspan", "mathcolor", "mathbackground", "mathsize"})
HINTS_HEADING = re.compile(r"^(#{1,6})[ \t]+Hints[ \t]*#*[ \t]*$", re.MULTILINE | re.IGNORECASE)
ATX_HEADING = re.compile(r"^(#{1,6})[ \t]", re.MULTILINE)


class UnsafeMath(ValueError):
    """latex2mathml's output held an element this page does not pass on."""


class UnknownCommand(ValueError):
    """A LaTeX command latex2mathml does not know (it would show as `\\name`)."""


def _element(node: ET.Element) -> str:
    tag = node.tag.removeprefix(MATHML_NS)
    if tag not in ELEMENTS:
        raise UnsafeMath(tag)
    if "\\" in (node.text or "") and tag != "mtext":
        raise UnknownCommand(node.text)  # latex2mathml keeps a command it does not know as text
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in sorted(node.attrib.items())
                    if k in ATTRIBUTES)
    if tag == "math":
        attrs = ' xmlns="http://www.w3.org/1998/Math/MathML"' + attrs
    inner = str(escape(node.text or "")) + "".join(
        _element(child) + str(escape(child.tail or "")) for child in node)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def mathml(latex: str, display: bool) -> str:
    """The formula as MathML made only of allowed elements and attributes; or, when it does
    not convert, its source as escaped text (marked so an author sees which one failed)."""
    try:
        made = convert(latex, display="block" if display else "inline")
        return _element(ET.fromstring(made))
    except Exception:  # latex2mathml raises many kinds on bad LaTeX; the page still renders
        return f'<code class="math-error">{escape(latex)}</code>'


def _render_math(content: str, options: dict[str, Any]) -> str:
    return mathml(content, bool(options.get("display_mode")))


# Raw HTML in a statement comes out escaped; a `$` next to a digit or a space opens or closes
# no formula ("costs $5 and $6").
_md = MarkdownIt("commonmark", {"html": False})
dollarmath_plugin(_md, allow_labels=False, allow_digits=False, allow_space=False,
                  renderer=_render_math)


def markdown(text: str) -> Markup:
    return Markup(_md.render(text))


def split_hints(text: str) -> tuple[str, str]:
    """The statement without its Hints section, and that section's body: from a heading
    "Hints" (any level) to the next heading of that level or higher, or the end."""
    head = HINTS_HEADING.search(text)
    if head is None:
        return text, ""
    level = len(head.group(1))
    end = len(text)
    for nxt in ATX_HEADING.finditer(text, head.end()):
        if len(nxt.group(1)) <= level:
            end = nxt.start()
            break
    return text[:head.start()] + text[end:], text[head.end():end]


def _items(tokens: list[Token]) -> list[list[Token]]:
    """The inner tokens of each item of the section's first list (its outermost items)."""
    items: list[list[Token]] = []
    depth = 0
    current: list[Token] = []
    for tok in tokens:
        if tok.type == "list_item_open":
            depth += 1
            if depth == 1:
                current = []
                continue
        elif tok.type == "list_item_close":
            depth -= 1
            if depth == 0:
                items.append(current)
                continue
        if depth >= 1:
            current.append(tok)
    return items


@dataclass(frozen=True)
class Statement:
    body: Markup  # the statement without its Hints section
    hints: tuple[Markup, ...]  # each item of the Hints section's list, in order


def render_statement(text: str) -> Statement:
    body, section = split_hints(text)
    env: dict[str, Any] = {}
    hints = tuple(Markup(_md.renderer.render(item, _md.options, env))
                  for item in _items(_md.parse(section, env)))
    return Statement(markdown(body), hints)


def hints_shown(total: int, failures: int, taken: int, highest: int = 0) -> int:
    """How many hints a learner sees: one per failed submission of the problem, plus one per
    hint asked for, never more than there are; and at least up to the `highest` hint asked for
    (a rejudge that turns a failure into a pass takes back no hint already read)."""
    return max(0, min(total, max(failures + taken, highest)))
