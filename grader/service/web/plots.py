"""A visible statistical check's picture as inline SVG, drawn on the server by matplotlib.

Drawn from the report's numbers only (grader/judging/pictures.py checks them; no text the
learner controls reaches the figure); the SVG is then made fit for the site's CSP, which allows
no inline style: matplotlib's `style` attributes become SVG presentation attributes and its
`<style>` and `<metadata>` go. Its ids get the plot's own prefix, so that many plots share a
page. matplotlib is imported on the first picture (≈0.5 s, once per web process), never by the
judge or the jail."""

from __future__ import annotations

import io
import logging
import re
import threading
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from grader.judging.pictures import alt_text, component, finite

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
# CSS properties matplotlib writes that SVG also takes as attributes; any other is dropped.
PRESENTATION = {"fill", "fill-opacity", "stroke", "stroke-width", "stroke-linecap",
                "stroke-linejoin", "stroke-miterlimit", "stroke-opacity", "stroke-dasharray",
                "stroke-dashoffset", "opacity", "font-family", "font-size", "font-style",
                "font-weight", "text-anchor", "clip-path"}
WIDTH, HEIGHT = 6.4, 2.6  # inches, 72 points each: the widest SVG, before the page scales it
SCALE = 1.4  # pixels per point on the page
DECIMALS = re.compile(r"(\.\d\d)\d+")
BLUE, RED, GREY, GREEN = "#1f6fb4", "#c0392b", "#8a8f98", "#2e8b57"

log = logging.getLogger(__name__)
_lock = threading.Lock()  # matplotlib's state (rcParams, font cache) is the process's


def _figure(plot: dict[str, Any]) -> Any:
    from matplotlib.figure import Figure

    kind = plot["kind"]
    panels = len(plot["components"]) if kind == "mean_z" else 2.5
    width = min(WIDTH, 1.5 * panels + 0.6)  # a panel keeps its size: few, the figure narrows
    fig = Figure(figsize=(width, HEIGHT))
    if kind == "mean_z":
        comps = plot["components"]
        axes = fig.subplots(1, len(comps), squeeze=False)[0]
        for n, (ax, c) in enumerate(zip(axes, comps, strict=True)):
            _mean_panel(ax, c, float(plot["threshold"]), plot["spread"] == "exact", f"c{n}")
        axes[0].set_ylabel("estimate per seed")
    elif kind == "variance_ratio":
        _variance_panel(fig.subplots(), plot)
    else:
        _invariant_panel(fig.subplots(), plot)
    for ax in fig.axes:  # few ticks: text layout is most of a picture's cost
        ax.locator_params(nbins=4)
        ax.tick_params(labelsize=6)
    # Fixed margins, not tight_layout (which lays every text out once more).
    fig.subplots_adjust(left=0.6 / width, right=1 - 0.1 / width, bottom=0.17, top=0.9,
                        wspace=0.35)
    return fig


def _mean_panel(ax: Any, c: dict[str, Any], threshold: float, exact: bool, gid: str) -> None:
    """One component: per-seed estimates (red outside exact ± 2 sd of one call), the exact
    mean (black), the mean of the estimates with ± threshold standard errors (green when the
    exact mean is inside, red when not)."""
    values = [float(v) for v in c["values"]]
    mu, sd, mean, se = (float(c[k]) for k in ("exact", "sd", "mean", "se"))
    low, high = mu - 2 * sd, mu + 2 * sd
    seeds = range(1, len(values) + 1)
    ax.axhspan(low, high, color=GREY, alpha=0.25, lw=0,
               gid=f"{gid}-band" if exact else f"{gid}-band-sample")
    ax.axhline(mu, color="black", lw=1.2, gid=f"{gid}-exact")
    inside = [(s, v) for s, v in zip(seeds, values, strict=True) if low <= v <= high]
    outside = [(s, v) for s, v in zip(seeds, values, strict=True) if not low <= v <= high]
    for points, colour, name in ((inside, BLUE, "inside"), (outside, RED, "outside")):
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(xs, ys, s=9, color=colour, alpha=0.8, lw=0, gid=f"{gid}-{name}")
    off = abs(mean - mu) > threshold * se
    ax.errorbar([len(values) + 4], [mean], yerr=[threshold * se], fmt="D", ms=5, capsize=3,
                color=RED if off else GREEN, gid=f"{gid}-mean-off" if off else f"{gid}-mean-on")
    ax.set_title(component(c["index"]), fontsize=8)
    ax.set_xlabel("seed", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_xlim(0, len(values) + 7)


def _variance_panel(ax: Any, plot: dict[str, Any]) -> None:
    yours, ref = float(plot["yours"]), float(plot["reference"])
    lo = float(plot["min_ratio"]) * ref
    hi = None if plot["max_ratio"] is None else float(plot["max_ratio"]) * ref
    top = max(yours, ref, hi or 0.0) * 1.6
    ax.axvspan(lo, hi if hi is not None else top, color=GREY, alpha=0.25, lw=0, gid="allowed")
    ok = lo <= yours and (hi is None or yours <= hi)
    ax.barh([1], [ref], color=GREY, gid="reference")
    ax.barh([0], [yours], color=BLUE if ok else RED, gid="yours-in" if ok else "yours-out")
    ax.set_yticks([0, 1], ["yours", "exact" if plot["exact"] else "reference"], fontsize=8)
    ax.set_xlim(0, top)
    ax.set_xlabel(f"total variance over {int(plot['seeds'])} seeds (grey band: allowed)",
                  fontsize=7)
    ax.tick_params(labelsize=6)


def _invariant_panel(ax: Any, plot: dict[str, Any]) -> None:
    values = [float(v) for v in plot["values"]]
    allowed, below = float(plot["allowed"]), bool(plot["below"])
    seeds = range(1, len(values) + 1)
    bad = [(s, v) for s, v in zip(seeds, values, strict=True)
           if (v < allowed if below else v > allowed)]
    good = [(s, v) for s, v in zip(seeds, values, strict=True)
            if not (v < allowed if below else v > allowed)]
    ax.axhline(allowed, color="black", lw=1, ls="--", gid="allowed")
    for points, colour, gid in ((good, BLUE, "inside"), (bad, RED, "outside")):
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(xs, ys, s=9, color=colour, lw=0, gid=gid)
    ax.set_xlabel("seed", fontsize=7)
    ax.set_ylabel("smallest component" if below else "|sum - target|", fontsize=7)
    ax.tick_params(labelsize=6)


def _clean(svg: bytes, prefix: str, alt: str) -> str:
    """matplotlib's SVG made CSP-clean, with unique ids and the alt text as its title."""
    ET.register_namespace("", SVG)
    root = ET.fromstring(svg)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG}}}metadata", f"{{{SVG}}}style"):
                parent.remove(child)
    seen: set[str] = set()
    for el in root.iter():
        style = el.attrib.pop("style", "")
        for decl in style.split(";"):
            name, _, value = decl.partition(":")
            if name.strip() in PRESENTATION:
                el.set(name.strip(), value.strip())
        if "id" in el.attrib:  # unique on the page (an errorbar gives its gid to 4 parts)
            ident = el.attrib["id"]
            ident = ident if ident not in seen else f"{ident}.{len(seen)}"
            seen.add(ident)
            el.set("id", f"{prefix}-{ident}")
        for key in ("x", "y", "d", "transform"):  # a hundredth of a point is enough
            if key in el.attrib:
                el.set(key, DECIMALS.sub(r"\1", el.attrib[key]))
        href = el.attrib.pop(f"{{{XLINK}}}href", None)
        if href is not None and href.startswith("#"):
            el.set("href", f"#{prefix}-{href[1:]}")
        for key, value in el.attrib.items():
            if value.startswith("url(#"):
                el.set(key, f"url(#{prefix}-{value[5:]}")
    _, _, w, h = (float(v) for v in root.attrib["viewBox"].split())
    root.set("width", f"{w * SCALE:.0f}")  # pixels; the page's CSS narrows it to fit
    root.set("height", f"{h * SCALE:.0f}")
    root.set("role", "img")
    root.set("aria-labelledby", f"{prefix}-title")
    title = ET.Element(f"{{{SVG}}}title", {"id": f"{prefix}-title"})
    title.text = alt
    root.insert(0, title)
    return ET.tostring(root, encoding="unicode")


@lru_cache(maxsize=128)
def _svg(plot_json: str, prefix: str) -> str:
    import json

    import matplotlib

    plot = json.loads(plot_json)
    with _lock:
        matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "jaxjudge",
                                    "font.size": 8})
        buffer = io.BytesIO()
        _figure(plot).savefig(buffer, format="svg", metadata={"Date": None})
    return _clean(buffer.getvalue(), prefix, alt_text(plot))


def check_plot(plot: Any, prefix: str) -> Markup | None:
    """A check's picture for the page (`prefix`: unique on the page, letters and digits), or
    None when its stored data is not the numbers a picture is drawn from."""
    import json

    if not isinstance(plot, dict) or not finite(plot) or not prefix.isalnum():
        return None
    # Nothing in the SVG is text the learner wrote: numbers and this module's words. It is
    # still escaped where it is text (ElementTree escapes every text and attribute).
    try:
        return Markup(_svg(json.dumps(plot, sort_keys=True), str(escape(prefix))))
    except Exception:  # a picture is a courtesy: the page is shown without it
        log.exception("a check's picture could not be drawn")
        return None
