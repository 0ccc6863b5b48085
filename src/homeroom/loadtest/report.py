"""The run report: a JSON summary for machines and one self-contained HTML page for people.

The HTML page draws its plots as inline SVG generated here: no script, no CDN, nothing to
fetch, so it opens from a CI artifact or an air-gapped operator laptop alike.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path
from typing import Any

from homeroom.loadtest.histogram import LatencyHistogram
from homeroom.loadtest.plan import Plan
from homeroom.loadtest.results import Results, down_buckets

__all__ = ["render_html", "summarize", "write_report"]


def _busiest_window(plan: Plan) -> tuple[str, float, float]:
    """The phase with the highest mean scheduled rate: (name, start offset, end offset)."""
    best = ("", 0.0, plan.duration)
    best_rate = -1.0
    offset = 0.0
    for p in plan.phases:
        mean = (p.start_rate + p.end_rate) / 2
        if mean > best_rate:
            best, best_rate = (p.name, offset, offset + p.seconds), mean
        offset += p.seconds
    return best


def _second_latency(hist: LatencyHistogram | None) -> dict[str, float | None]:
    """One timeline second's flow latency (flows due in that second that completed)."""
    if hist is None or not hist.count:
        return {"flow_p50_ms": None, "flow_p99_ms": None, "flow_max_ms": None}
    return {
        "flow_p50_ms": round(hist.percentile(50), 3),
        "flow_p99_ms": round(hist.percentile(99), 3),
        "flow_max_ms": round(hist.max_ms, 3),
    }


def summarize(plan: Plan, results: Results) -> dict[str, Any]:
    ok = sum(results.flows_ok.values())
    failed = sum(results.flows_failed.values())
    seconds = max(1, math.ceil(plan.duration))
    logins = sum(results.login_attempts.values()) > 0
    attempts = results.login_attempts if logins else results.flow_attempts
    failures = results.login_failures if logins else results.flow_failures
    buckets = down_buckets(attempts, failures, seconds, plan.down_bucket_s)
    phase, lo, hi = _busiest_window(plan)
    in_window = sum(n for s, n in results.logins_done.items() if lo <= s < hi)
    span = max(1, math.ceil(max(results.flows_done, default=seconds - 1)) + 1)
    timeline = [
        {
            "t": s,
            "scheduled_per_s": round(plan.curve.rate_at(s + 0.5), 2)
            if plan.model == "open"
            else None,
            "logins": results.logins_done.get(s, 0),
            "flows": results.flows_done.get(s, 0),
            "failures": results.flow_failures.get(s, 0),
            **_second_latency(results.flow_latency.get(s)),
            "dispatch_late_ms": round(results.dispatch_late_ms[s], 3)
            if s in results.dispatch_late_ms
            else None,
        }
        for s in range(max(span, seconds))
    ]
    scenarios = sorted(set(results.flows_ok) | set(results.flows_failed) | set(plan.mix))
    return {
        "target": plan.url,
        "profile": plan.profile,
        "model": plan.model,
        "mix": plan.mix,
        "processes": plan.processes,
        "concurrency_per_process": plan.concurrency,
        "duration_s": plan.duration,
        "phases": [
            {"name": p.name, "seconds": p.seconds, "from_rate": p.start_rate, "to_rate": p.end_rate}
            for p in plan.phases
        ],
        "started_at": dt.datetime.fromtimestamp(plan.start_at, dt.UTC).isoformat(),
        "scheduled_flows": round(plan.curve.expected()) if plan.model == "open" else None,
        "flows_ok": ok,
        "flows_failed": failed,
        "by_scenario": {
            s: {"ok": results.flows_ok.get(s, 0), "failed": results.flows_failed.get(s, 0)}
            for s in scenarios
        },
        "errors": failed,
        "error_rate": failed / (ok + failed) if ok + failed else 0.0,
        "errors_by_kind": dict(sorted(results.errors.items(), key=lambda kv: -kv[1])),
        "steps": {name: results.steps[name].summary() for name in sorted(results.steps)},
        "latency_basis": "scheduled send time (coordinated-omission corrected)"
        if plan.model == "open"
        else "actual send time (closed model)",
        "logins_total": sum(results.logins_done.values()),
        "logins_per_s": round(in_window / max(hi - lo, 1e-9), 2),
        "logins_per_s_window": {"phase": phase, "from_s": lo, "to_s": hi},
        "flows_per_s": round(ok / max(plan.duration, 1e-9), 2),
        "down_basis": "login flows" if logins else "all flows (no login flows in this run)",
        "down_bucket_s": plan.down_bucket_s,
        "down_minutes": sum(1 for b in buckets if b["down"]),
        "down_buckets": buckets,
        "timeline": timeline,
        "generator": {
            "heap_settling_ms": results.generator_gc_ms,
            "late_into_window_ms": results.generator_late_ms,
        },
        "settling": {
            "seconds": plan.settle_s,
            "flows_ok": results.settle_ok,
            "flows_failed": sum(results.settle_errors.values()),
            "errors_by_kind": dict(sorted(results.settle_errors.items(), key=lambda kv: -kv[1])),
            "flow": results.settle_latency.summary(),
        },
    }


# ------------------------------------------------------------------ SVG


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _line_chart(
    series: list[tuple[str, str, list[float | None]]], width: int = 860, height: int = 260
) -> str:
    """Lines over a shared x axis (seconds); each series is (label, colour, values)."""
    pad_l, pad_r, pad_t, pad_b = 56, 16, 16, 36
    n = max((len(v) for _, _, v in series), default=0)
    top = max((x for _, _, v in series for x in v if x is not None), default=0.0)
    top = max(top, 1.0) * 1.1
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i: int, v: float) -> str:
        x = pad_l + (w * i / max(n - 1, 1))
        y = pad_t + h - h * v / top
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for k in range(5):
        v = top * k / 4
        y = pad_t + h - h * k / 4
        parts.append(
            f'<text x="{pad_l - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{v:.0f}</text>'
        )
        parts.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
    for k in range(6):
        i = round((n - 1) * k / 5) if n > 1 else 0
        x = pad_l + (w * i / max(n - 1, 1))
        parts.append(
            f'<text x="{x:.1f}" y="{height - 14}" font-size="11" text-anchor="middle">{i}s</text>'
        )
    for idx, (label, colour, values) in enumerate(series):
        points = " ".join(xy(i, v) for i, v in enumerate(values) if v is not None)
        if points:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{points}"/>'
            )
        parts.append(
            f'<text x="{pad_l + 8 + 170 * idx}" y="{pad_t + 14}" font-size="12" '
            f'fill="{colour}">■ {_esc(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _latency_bars(steps: dict[str, dict[str, float]], width: int = 860) -> str:
    """Horizontal bars per step: p50, p95, p99 and max on a log scale."""
    rows = [(name, s) for name, s in steps.items() if s["count"]]
    colours = (("p50_ms", "#2b8a3e"), ("p95_ms", "#e67700"), ("p99_ms", "#c92a2a"))
    row_h, label_w = 22, 240
    height = 40 + row_h * len(rows)
    top = max((s["max_ms"] for _, s in rows), default=1.0)
    lo_log, hi_log = math.log10(0.1), math.log10(max(top, 1.0) * 1.2)
    scale = (width - label_w - 20) / (hi_log - lo_log)

    def x(ms: float) -> float:
        return label_w + (math.log10(max(ms, 0.1)) - lo_log) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
    ]
    for decade in range(-1, math.ceil(hi_log) + 1):
        ms = 10.0**decade
        if ms > 10**hi_log:
            break
        parts.append(
            f'<line x1="{x(ms):.1f}" x2="{x(ms):.1f}" y1="20" y2="{height}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{x(ms):.1f}" y="14" font-size="11" text-anchor="middle">{ms:g} ms</text>'
        )
    for i, (name, s) in enumerate(rows):
        y = 24 + i * row_h
        parts.append(f'<text x="4" y="{y + 13}" font-size="12">{_esc(name)}</text>')
        parts.append(
            f'<line x1="{x(s["p50_ms"]):.1f}" x2="{x(s["max_ms"]):.1f}" y1="{y + 9}" '
            f'y2="{y + 9}" stroke="#adb5bd" stroke-width="2"/>'
        )
        for key, colour in colours:
            parts.append(
                f'<circle cx="{x(s[key]):.1f}" cy="{y + 9}" r="5" fill="{colour}">'
                f"<title>{key[:-3]} {s[key]:.2f} ms</title></circle>"
            )
        parts.append(
            f'<rect x="{x(s["max_ms"]) - 3:.1f}" y="{y + 4}" width="6" height="10" fill="#000">'
            f"<title>max {s['max_ms']:.2f} ms</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _down_strip(buckets: list[dict[str, Any]], width: int = 860) -> str:
    n = max(len(buckets), 1)
    w = (width - 2) / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="30" role="img">']
    for i, b in enumerate(buckets):
        colour = "#c92a2a" if b["down"] else ("#2b8a3e" if b["attempts"] else "#dee2e6")
        parts.append(
            f'<rect x="{1 + i * w:.1f}" y="2" width="{max(w - 2, 1):.1f}" height="26" '
            f'fill="{colour}"><title>from {b["start_s"]:g}s: {b["failures"]}/{b["attempts"]} '
            f"failed{' — DOWN' if b['down'] else ''}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(summary: dict[str, Any], breached: list[str] | None = None) -> str:
    tl = summary["timeline"]
    chart = _line_chart(
        [
            ("completed logins/s", "#1c7ed6", [float(p["logins"]) for p in tl]),
            ("completed flows/s", "#868e96", [float(p["flows"]) for p in tl]),
            (
                "scheduled flows/s",
                "#f59f00",
                [p["scheduled_per_s"] for p in tl],
            ),
            ("failed flows/s", "#c92a2a", [float(p["failures"]) for p in tl]),
        ]
    )
    latency_chart = _line_chart(
        [
            ("flow p50 (ms)", "#2b8a3e", [p["flow_p50_ms"] for p in tl]),
            ("flow p99 (ms)", "#c92a2a", [p["flow_p99_ms"] for p in tl]),
            ("flow max (ms)", "#495057", [p["flow_max_ms"] for p in tl]),
            # open model: the generator's own lateness, for telling its stalls from the server's
            *(
                [("generator late (ms)", "#e67700", [p["dispatch_late_ms"] for p in tl])]
                if summary["model"] == "open"
                else []
            ),
        ]
    )
    step_rows = "".join(
        f"<tr><td>{_esc(n)}</td><td>{s['count']}</td><td>{s['p50_ms']:.2f}</td>"
        f"<td>{s['p95_ms']:.2f}</td><td>{s['p99_ms']:.2f}</td><td>{s['max_ms']:.2f}</td></tr>"
        for n, s in summary["steps"].items()
    )
    error_rows = (
        "".join(
            f"<tr><td>{_esc(k)}</td><td>{v}</td></tr>" for k, v in summary["errors_by_kind"].items()
        )
        or '<tr><td colspan="2">none</td></tr>'
    )
    scen_rows = "".join(
        f"<tr><td>{_esc(k)}</td><td>{v['ok']}</td><td>{v['failed']}</td></tr>"
        for k, v in summary["by_scenario"].items()
    )
    gate = ""
    if breached is not None:
        gate = (
            '<p class="bad"><b>Gate failed:</b> ' + "; ".join(_esc(b) for b in breached) + "</p>"
            if breached
            else '<p class="good"><b>Gate passed.</b></p>'
        )
    down = summary["down_minutes"]
    late = summary["generator"]["late_into_window_ms"]
    generator = (
        f'<p class="bad">The load generator\'s own heap collection ran {late:g} ms into the '
        "window (or into the settling stretch before it): flows due meanwhile were sent late, "
        "and that lateness counts in their latency."
        "</p>"
        if late
        else ""
    )
    settling = summary["settling"]
    if settling["seconds"]:
        settle_flow = settling["flow"]
        generator += (
            f'<p class="{"bad" if settling["flows_failed"] else "good"}">Before the window, '
            f"{settling['seconds']:g} s of settling at the opening rate: "
            f"{settling['flows_ok']} flows ok (p99 {settle_flow['p99_ms']:g} ms, "
            f"max {settle_flow['max_ms']:g} ms), {settling['flows_failed']} failed"
            + (
                " ("
                + "; ".join(f"{_esc(k)}: {v}" for k, v in settling["errors_by_kind"].items())
                + ")"
                if settling["flows_failed"]
                else ""
            )
            + ". Not counted in the figures below.</p>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Homeroom load test — {_esc(summary["profile"])}</title>
<style>
body{{font:14px/1.45 system-ui,sans-serif;margin:24px;max-width:900px;color:#212529}}
table{{border-collapse:collapse;margin:8px 0 20px}}
td,th{{border:1px solid #dee2e6;padding:3px 8px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}.bad{{color:#c92a2a}}.good{{color:#2b8a3e}}
</style></head><body>
<h1>Load test: {_esc(summary["profile"])}</h1>
<p>Target <code>{_esc(summary["target"])}</code>, {_esc(summary["model"])} model,
{summary["processes"]} process(es), {summary["duration_s"]:g} s from {_esc(summary["started_at"])}.
Latency measured from the {_esc(summary["latency_basis"])}.</p>
{gate}{generator}
<p><b>{summary["flows_ok"]}</b> flows completed, <b>{summary["flows_failed"]}</b> failed
(error rate {summary["error_rate"] * 100:.2f} %); {summary["logins_total"]} logins,
{summary["logins_per_s"]:g} logins/s in the {_esc(summary["logins_per_s_window"]["phase"])} phase;
<b class="{"bad" if down else "good"}">{down} down bucket(s)</b>
of {summary["down_bucket_s"]:g} s (basis: {_esc(summary["down_basis"])}).</p>
<h2>Throughput over time</h2>{chart}
<h2>Flow latency over time (ms, by the second each flow was due)</h2>{latency_chart}
<h2>Latency per step (ms)</h2>{_latency_bars(summary["steps"])}
<table><tr><th>step</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>
{step_rows}</table>
<h2>Flows per scenario</h2>
<table><tr><th>scenario</th><th>ok</th><th>failed</th></tr>{scen_rows}</table>
<h2>Errors by kind</h2>
<table><tr><th>kind</th><th>count</th></tr>{error_rows}</table>
<h2>Down buckets</h2>
<p>A bucket is down when 10 % or more of its login attempts failed.</p>
{_down_strip(summary["down_buckets"])}
</body></html>
"""


def write_report(
    directory: Path, summary: dict[str, Any], breached: list[str] | None = None
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "report.json"
    html_path = directory / "report.html"
    data = {**summary, "gate": None if breached is None else {"breached": breached}}
    json_path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(summary, breached), encoding="utf-8")
    return json_path, html_path
