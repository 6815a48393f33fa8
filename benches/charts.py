"""Draws the charts of docs/benchmarks.md from benches/results.csv.

    python3 benches/charts.py benches/results.csv docs

Writes SVG files into the given directory (docs/bench-*.svg). Plain
Python: the SVG is written by hand, so the script needs nothing beyond the
standard library (no plotting package to install on a benchmark host).
"""

import csv
import math
import sys
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import escape

FLOOR, MEMCPY = "floor", "memcpy"
COLORS = {
    "netipc": "#1f77b4",
    "reference": "#ff7f0e",
    "floor": "#7f7f7f",
    "memcpy": "#7f7f7f",
    "split": "#1f77b4",
    "shared": "#2ca02c",
    "uds": "#9467bd",
    "shm": "#d62728",
    "p50": "#aec7e8",
    "p95": "#1f77b4",
    "p99": "#08306b",
    "ref p50": "#fdd0a2",
    "ref p95": "#fd8d3c",
    "ref p99": "#a63603",
    "inproc": "#8c564b",
}
FONT = 'font-family="sans-serif"'


def num(x, default=0.0):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def is_reference(pair):
    return "netipc" not in pair and pair not in (FLOOR, MEMCPY)


class Chart:
    """A plot area with axes; x and y each linear or logarithmic."""

    def __init__(self, title, width=860, height=420, left=70, right=170, top=40, bottom=60):
        self.w, self.h = width, height
        self.l, self.r, self.t, self.b = left, right, top, bottom
        self.parts = [f'<text x="{width / 2}" y="22" text-anchor="middle" {FONT} font-size="15" '
                      f'font-weight="bold">{escape(title)}</text>']
        self.legend_items = []

    @property
    def pw(self):
        return self.w - self.l - self.r

    @property
    def ph(self):
        return self.h - self.t - self.b

    def scale(self, lo, hi, log, length, flip):
        if log:
            lo, hi = math.log10(lo), math.log10(hi)

        def f(v):
            v = math.log10(max(v, 1e-12)) if log else v
            frac = (v - lo) / (hi - lo) if hi != lo else 0.5
            return (1 - frac) * length if flip else frac * length
        return f

    def set_y(self, lo, hi, log=False, label=""):
        self.ylo, self.yhi, self.ylog = lo, hi, log
        self.fy = self.scale(lo, hi, log, self.ph, True)
        for v in ticks(lo, hi, log):
            y = self.t + self.fy(v)
            self.parts.append(f'<line x1="{self.l}" x2="{self.l + self.pw}" y1="{y:.1f}" y2="{y:.1f}" '
                              'stroke="#e0e0e0"/>')
            self.parts.append(f'<text x="{self.l - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT} font-size="12">'
                              f'{fmt(v)}</text>')
        self.parts.append(f'<text transform="translate(16,{self.t + self.ph / 2}) rotate(-90)" '
                          f'text-anchor="middle" {FONT} font-size="12">{escape(label)}</text>')

    def set_x(self, lo, hi, log=False, label=""):
        self.fx = self.scale(lo, hi, log, self.pw, False)
        for v in ticks(lo, hi, log):
            x = self.l + self.fx(v)
            self.parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.t}" y2="{self.t + self.ph}" '
                              'stroke="#e0e0e0"/>')
            self.parts.append(f'<text x="{x:.1f}" y="{self.t + self.ph + 16}" text-anchor="middle" {FONT} font-size="12">'
                              f'{fmt(v)}</text>')
        self.parts.append(f'<text x="{self.l + self.pw / 2}" y="{self.h - 12}" text-anchor="middle" {FONT} font-size="12">'
                          f'{escape(label)}</text>')

    def categories(self, names, label=""):
        """A categorical x axis; returns each category's band (x, width)."""
        band = self.pw / max(len(names), 1)
        out = []
        for i, n in enumerate(names):
            x = self.l + i * band
            out.append((x, band))
            self.parts.append(f'<text transform="translate({x + band / 2:.1f},{self.t + self.ph + 12}) '
                              f'rotate(25)" {FONT} font-size="10">{escape(n)}</text>')
        self.parts.append(f'<text x="{self.l + self.pw / 2}" y="{self.h - 4}" text-anchor="middle" {FONT} font-size="12">'
                          f'{escape(label)}</text>')
        return out

    def bar(self, x, width, value, color, note=None):
        base = self.ylo if not self.ylog else self.ylo
        y0, y1 = self.t + self.fy(base), self.t + self.fy(max(value, self.ylo))
        self.parts.append(f'<rect x="{x:.1f}" y="{min(y0, y1):.1f}" width="{width:.1f}" '
                          f'height="{abs(y0 - y1):.1f}" fill="{color}"/>')
        if note:
            self.parts.append(f'<text x="{x + width / 2:.1f}" y="{min(y0, y1) - 3:.1f}" text-anchor="middle" '
                              f'{FONT} font-size="9">{escape(note)}</text>')

    def hline(self, value, color, label):
        y = self.t + self.fy(value)
        self.parts.append(f'<line x1="{self.l}" x2="{self.l + self.pw}" y1="{y:.1f}" y2="{y:.1f}" '
                          f'stroke="{color}" stroke-dasharray="6,4" stroke-width="1.5"/>')
        self.parts.append(f'<text x="{self.l + self.pw - 4}" y="{y - 4:.1f}" text-anchor="end" {FONT} font-size="12" '
                          f'fill="{color}">{escape(label)}</text>')

    def line(self, points, color, dashed=False):
        pts = " ".join(f"{self.l + self.fx(x):.1f},{self.t + self.fy(y):.1f}" for x, y in points)
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        self.parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in points:
            self.parts.append(f'<circle cx="{self.l + self.fx(x):.1f}" cy="{self.t + self.fy(y):.1f}" r="3.5" '
                              f'fill="{color}"/>')

    def legend(self, label, color):
        self.legend_items.append((label, color))

    def svg(self):
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
               f'viewBox="0 0 {self.w} {self.h}">', '<rect width="100%" height="100%" fill="white"/>']
        out += self.parts
        out.append(f'<rect x="{self.l}" y="{self.t}" width="{self.pw}" height="{self.ph}" fill="none" '
                   'stroke="#444"/>')
        for i, (label, color) in enumerate(self.legend_items):
            y = self.t + 10 + i * 18
            x = self.l + self.pw + 14
            out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="12" fill="{color}"/>')
            out.append(f'<text x="{x + 18}" y="{y + 1}" {FONT} font-size="12">{escape(label)}</text>')
        out.append("</svg>")
        return "\n".join(out) + "\n"


def ticks(lo, hi, log):
    if log:
        return [10 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                if lo <= 10 ** e <= hi]
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-12)))
    while (hi - lo) / step > 8:
        step *= 2
    v = math.ceil(lo / step) * step
    out = []
    while v <= hi + 1e-9:
        out.append(v)
        v += step
    return out


def fmt(v):
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{v / div:g}{unit}"
    return f"{v:g}"


def log_bounds(values, pad=1.5):
    vals = [v for v in values if v > 0]
    if not vals:
        return 1, 10
    lo, hi = min(vals) / pad, max(vals) * pad
    return 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))


def ratio_chart(by):
    """Ours against the fastest reference pair, per scenario (log scale)."""
    rows = []
    for (placement, scen), pairs in sorted(by.items()):
        refs = [r for p, r in pairs.items() if is_reference(p) and num(r["throughput"]) > 0]
        if "netipc" not in pairs or not refs or placement == "inproc" and "-lookup-" in scen:
            continue
        best = max(num(r["throughput"]) for r in refs)
        ratio = num(pairs["netipc"]["throughput"]) / best
        floor = num(pairs[FLOOR]["throughput"]) / best if FLOOR in pairs else None
        rows.append((f"{placement} {scen}", ratio, floor, placement))
    if not rows:
        return None
    c = Chart("netipc against the fastest reference pair (throughput ratio, same run)",
              width=max(860, 38 * len(rows) + 260), height=460, bottom=150)
    lo, hi = log_bounds([r[1] for r in rows] + [r[2] for r in rows if r[2]] + [1.0])
    c.set_y(min(lo, 0.5), hi, log=True, label="ours ÷ best reference (×)")
    bands = c.categories([r[0] for r in rows])
    for (x, w), (_, ratio, floor, placement) in zip(bands, rows):
        c.bar(x + w * 0.2, w * 0.6, ratio, COLORS.get(placement, COLORS["inproc"]), note=f"{ratio:.1f}×")
        if floor:
            y = c.t + c.fy(floor)
            c.parts.append(f'<line x1="{x + w * 0.1:.1f}" x2="{x + w * 0.9:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                           f'stroke="{COLORS[FLOOR]}" stroke-width="2"/>')
    c.hline(1.0, "#000", "= reference")
    c.legend("split (2 vCPUs)", COLORS["split"])
    c.legend("shared (1 vCPU)", COLORS["shared"])
    c.legend("in-process", COLORS["inproc"])
    c.legend("floor (no library)", COLORS[FLOOR])
    return c


def latency_chart(by):
    """p50, p95 and p99 of ours and of the fastest reference pair."""
    wanted = ["uds-ping-pong", "shm-ping-pong", "snapshot-baseline", "snapshot-shm"]
    groups = []
    for placement in ("split", "shared"):
        for scen in wanted:
            pairs = by.get((placement, scen), {})
            refs = [(p, r) for p, r in pairs.items() if is_reference(p) and num(r["throughput"]) > 0]
            if "netipc" not in pairs:
                continue
            groups.append((f"{placement} {scen} netipc", pairs["netipc"], ""))
            if refs:
                p, r = max(refs, key=lambda pr: num(pr[1]["throughput"]))
                groups.append((f"{placement} {scen} {p}", r, "ref "))
    if not groups:
        return None
    c = Chart("Latency percentiles: netipc and the fastest reference pair (µs, log scale)",
              width=max(860, 38 * len(groups) + 260), height=480, bottom=190)
    vals = [max(num(r[k]), 0.5) for _, r, _ in groups for k in ("p50_us", "p95_us", "p99_us")]
    lo, hi = log_bounds(vals)
    c.set_y(min(lo, 0.5), hi, log=True, label="µs per call")
    bands = c.categories([g[0] for g in groups])
    for (x, w), (_, r, who) in zip(bands, groups):
        for i, k in enumerate(("p50", "p95", "p99")):
            c.bar(x + w * (0.15 + i * 0.24), w * 0.22, max(num(r[f"{k}_us"]), 0.5), COLORS[who + k])
    for who, name in (("", "netipc"), ("ref ", "reference")):
        for k in ("p50", "p95", "p99"):
            c.legend(f"{name} {k}", COLORS[who + k])
    c.legend("(0 µs drawn at 0.5)", "#ffffff")
    return c


def refresh_chart(by):
    """Median microseconds per refresh against snapshot size, log-log: our
    pair, the older build's and the reference library's (where run), each
    transport and placement, and one copy of the payload."""
    series = defaultdict(list)
    for (placement, scen), pairs in by.items():
        if not scen.startswith("cache-refresh-"):
            continue
        n = int(scen.rsplit("-", 1)[1])
        kind = "shm" if "-shm-" in scen else "uds"
        for p, r in pairs.items():
            if "/" in p or num(r["p50_us"]) <= 0:
                continue
            if p == MEMCPY:
                if kind == "shm" and placement == "split":
                    series[("one copy of the payload (memcpy)", "", "")].append((n, num(r["p50_us"])))
                continue
            series[(p, kind, placement)].append((n, num(r["p50_us"])))
    if not series:
        return None
    c = Chart("Refresh of the L3 cache against snapshot size (median µs per refresh, log-log)", width=960,
              right=250)
    xs = [x for s in series.values() for x, _ in s]
    ys = [y for s in series.values() for _, y in s]
    c.set_x(*log_bounds(xs, pad=1.2), log=True, label="items in the snapshot (64-byte names, 128-byte paths)")
    c.set_y(*log_bounds(ys), log=True, label="µs per refresh (median)")
    hues = {
        ("netipc", "shm"): "#d62728", ("netipc", "uds"): "#9467bd",
        ("before", "shm"): "#ff9896", ("before", "uds"): "#c5b0d5",
        ("c", "shm"): "#ff7f0e", ("c", "uds"): "#ffbb78",
    }
    order = sorted(series, key=lambda k: (k[0] == "one copy of the payload (memcpy)", k[0] != "netipc", k))
    for key in order:
        pair, kind, placement = key
        if pair.startswith("one copy"):
            color, name, dashed = COLORS[MEMCPY], pair, True
        else:
            color = hues.get((pair, kind), "#17becf")
            name, dashed = f"{pair}, {kind}, {placement}", placement == "shared"
        c.line(sorted(series[key]), color, dashed=dashed)
        c.legend(name + (" (dashed)" if dashed and not pair.startswith("one") else ""), color)
    return c


def sessions_chart(by):
    """Aggregate calls per second of many sessions: ours, the older
    build's, and each other server's under our clients."""
    groups = []
    for (placement, scen), pairs in sorted(by.items()):
        if scen.startswith("sessions-") and "-at-" not in scen and "netipc" in pairs:
            groups.append((f"{placement} {scen}", pairs))
    if not groups:
        return None
    names = sorted({p for _, pairs in groups for p in pairs}, key=lambda p: (p != "netipc", p != "before", p))
    palette = {"netipc": COLORS["netipc"], "before": "#aec7e8"}
    others = ["#ff7f0e", "#2ca02c", "#8c564b", "#e377c2"]
    for i, n in enumerate(x for x in names if x not in palette):
        palette[n] = others[i % len(others)]
    c = Chart("Many sessions on one managed server: calls per second, all sessions (fairness above)",
              width=max(860, 90 * len(groups) + 300), right=260, bottom=120)
    lo, hi = log_bounds([num(r["throughput"]) for _, pairs in groups for r in pairs.values()])
    c.set_y(lo, hi, log=True, label="calls per second, all sessions")
    bands = c.categories([g[0] for g in groups])
    width = 0.8 / max(len(names), 1)
    for (x, w), (_, pairs) in zip(bands, groups):
        for i, n in enumerate(names):
            if n in pairs:
                r = pairs[n]
                c.bar(x + w * (0.1 + i * width), w * width * 0.9, num(r["throughput"]), palette[n],
                      note=f"{num(r.get('fairness')):.2f}")
    for n in names:
        c.legend(n, palette[n])
    return c


def quiet_chart(by):
    """CPU per call of sparse calls, above idle, against the goal."""
    rows = []
    for (placement, scen), pairs in sorted(by.items()):
        if "-at-" not in scen:
            continue
        for p, r in sorted(pairs.items()):
            v = num(r.get("cpu_us_per_call"), None)
            if v is not None:
                rows.append((f"{placement} {scen} {p}", v, num(r.get("lib_us_per_call"), v)))
    if not rows:
        return None
    c = Chart("A quiet second: CPU per call, client and server, above the same sessions idle (µs)",
              width=max(860, 38 * len(rows) + 260), height=500, bottom=220)
    hi = max(max(r[1] for r in rows), 30) * 1.15
    c.set_y(0, hi, label="µs of CPU per call")
    bands = c.categories([r[0] for r in rows])
    for (x, w), (_, above_idle, above_pacing) in zip(bands, rows):
        c.bar(x + w * 0.15, w * 0.34, above_idle, COLORS["netipc"], note=f"{above_idle:.0f}")
        c.bar(x + w * 0.51, w * 0.34, max(above_pacing, 0), COLORS["p50"])
    c.hline(25, "#d62728", "goal: 25 µs at 10 calls/s")
    c.legend("above idle", COLORS["netipc"])
    c.legend("above pacing only", COLORS["p50"])
    return c


def main():
    csv_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    by = defaultdict(dict)
    for r in csv.DictReader(open(csv_path)):
        by[(r["placement"], r["scenario"])][r["pair"]] = r
    charts = {
        "bench-vs-reference.svg": ratio_chart(by),
        "bench-latency.svg": latency_chart(by),
        "bench-refresh-size.svg": refresh_chart(by),
        "bench-sessions.svg": sessions_chart(by),
        "bench-quiet.svg": quiet_chart(by),
    }
    for name, chart in charts.items():
        if chart is None:
            continue
        (out_dir / name).write_text(chart.svg())
        print(f"wrote {out_dir / name}")


if __name__ == "__main__":
    main()
