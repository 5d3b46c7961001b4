// Charts as inline SVG a person reads at a glance: axes with labels, values on the points that
// matter, a dashed target line where there is a target. Each chart is a <figure> with a
// caption, an SVG with a spoken summary, and its numbers in a table for anyone who prefers them.

import { h } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 240;
const PAD = { top: 16, right: 16, bottom: 40, left: 48 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** About five round tick values from 0 to at least `max`. */
function ticks(max) {
  if (max <= 0) return [0, 1];
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw);
  const out = [];
  for (let v = 0; v <= max + step * 0.001; v += step) out.push(Number(v.toFixed(6)));
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

/** Which x labels to print so they do not overlap (about 8 at most). */
function labelEvery(n) {
  return Math.max(1, Math.ceil(n / 8));
}

function frame({ labels, yTicks, yMax, format }) {
  const y = (v) => PAD.top + PLOT_H - (v / yMax) * PLOT_H;
  const grid = yTicks.map((t) =>
    s(
      "g",
      { class: "chart-tick" },
      s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(t), y2: y(t), class: "chart-grid" }),
      s("text", { x: PAD.left - 6, y: y(t) + 4, "text-anchor": "end", class: "chart-label" }, format(t)),
    ),
  );
  const every = labelEvery(labels.length);
  const band = PLOT_W / Math.max(1, labels.length);
  const last = labels.length - 1;
  // Every `every`-th day and the last one, leaving out a label that would touch the last.
  const shown = (i) => i === last || (i % every === 0 && last - i >= every / 2 + 0.5);
  const xLabels = labels.map((l, i) =>
    shown(i)
      ? s("text", { x: PAD.left + band * (i + 0.5), y: H - PAD.bottom + 16, "text-anchor": "middle", class: "chart-label" }, shortDate(l))
      : null,
  );
  const axes = [
    s("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + PLOT_H, class: "chart-axis" }),
    s("line", { x1: PAD.left, x2: W - PAD.right, y1: PAD.top + PLOT_H, y2: PAD.top + PLOT_H, class: "chart-axis" }),
  ];
  return { y, band, nodes: [grid, axes, xLabels] };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-11-23" → "23 Nov", "2026-W48" → "W48", "2026-11" → "Nov 2026"; anything else unchanged. */
function shortDate(d) {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (day) return `${Number(day[3])} ${MONTHS[Number(day[2]) - 1]}`;
  const week = /^\d{4}-W(\d{2})$/.exec(d);
  if (week) return `W${Number(week[1])}`;
  const month = /^(\d{4})-(\d{2})$/.exec(d);
  if (month) return `${MONTHS[Number(month[2]) - 1]} ${month[1]}`;
  return d;
}

/** How a chart names its points: per day (the default), ISO week or calendar month. */
const PERIODS = {
  day: { one: "Day", many: "days", each: "daily" },
  week: { one: "Week", many: "weeks", each: "weekly" },
  month: { one: "Month", many: "months", each: "monthly" },
};
const periodOf = (p) => PERIODS[p] ?? PERIODS.day;

function figure(id, title, summary, svg, rows, head) {
  return h(
    "figure",
    { class: "chart", attrs: { "aria-labelledby": `${id}-cap` } },
    h("figcaption", { id: `${id}-cap`, class: "chart-title", text: title }),
    svg,
    h("p", { class: "visually-hidden", text: summary }),
    h(
      "details",
      { class: "chart-data" },
      h("summary", { text: "Numbers" }),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, head.map((t) => h("th", { attrs: { scope: "col" }, text: t })))),
        h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", { text: c }))))),
      ),
    ),
  );
}

function svgRoot(id, summary) {
  return s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": summary, id, focusable: "false" });
}

/** Vertical bars of counts per label (days). */
export function barChart({ id, title, labels, values, unit = "", period = "day" }) {
  const per = periodOf(period);
  const max = Math.max(0, ...values);
  const yTicks = ticks(max);
  const yMax = yTicks[yTicks.length - 1];
  const f = frame({ labels, yTicks, yMax, format: (v) => String(v) });
  const total = values.reduce((a, b) => a + b, 0);
  const peak = values.indexOf(max);
  const summary = labels.length
    ? `${title}: ${total}${unit} in total over ${labels.length} ${per.many}, most in ${per.one.toLowerCase()} ${labels[peak]} (${max}).`
    : `${title}: no data.`;
  const svg = svgRoot(id, summary);
  const bw = Math.max(2, f.band * 0.7);
  const bars = values.map((v, i) =>
    s(
      "rect",
      { x: PAD.left + f.band * i + (f.band - bw) / 2, y: f.y(v), width: bw, height: Math.max(0, PAD.top + PLOT_H - f.y(v)), class: "chart-bar" },
      s("title", {}, `${labels[i]}: ${v}`),
    ),
  );
  svg.append(...f.nodes.flat(), ...bars);
  return figure(id, title, summary, svg, labels.map((l, i) => [l, String(values[i])]), [per.one, "Count"]);
}

/**
 * A rate per day, week or month (0..1, or null for a period with nothing to count) as a line
 * with points, and the target as a dashed line.
 */
export function rateChart({ id, title, labels, values, target = null, period = "day" }) {
  const per = periodOf(period);
  const yTicks = [0, 0.25, 0.5, 0.75, 1];
  const pct = (v) => `${Math.round(v * 100)} %`;
  const f = frame({ labels, yTicks, yMax: 1, format: pct });
  const known = values.map((v, i) => [v, i]).filter(([v]) => v !== null && v !== undefined);
  const mean = known.length ? known.reduce((a, [v]) => a + v, 0) / known.length : null;
  const below = target === null ? 0 : known.filter(([v]) => v < target).length;
  const summary = known.length
    ? `${title}: ${per.each} mean ${pct(mean)} over ${known.length} ${per.many} with data${target !== null ? `; target ${pct(target)}, missed in ${below} ${per.many}` : ""}.`
    : `${title}: no data in this range.`;
  const svg = svgRoot(id, summary);
  const x = (i) => PAD.left + f.band * (i + 0.5);
  // Break the line where a day has no value rather than drawing through it.
  const segments = [];
  let seg = [];
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      if (seg.length) segments.push(seg);
      seg = [];
    } else seg.push(`${x(i).toFixed(1)},${f.y(v).toFixed(1)}`);
  });
  if (seg.length) segments.push(seg);
  const lines = segments.map((pts) => s("polyline", { points: pts.join(" "), class: "chart-line" }));
  const dots = known.map(([v, i]) =>
    s(
      "circle",
      { cx: x(i), cy: f.y(v), r: 3.5, class: target !== null && v < target ? "chart-dot chart-dot-miss" : "chart-dot" },
      s("title", {}, `${labels[i]}: ${pct(v)}`),
    ),
  );
  const targetLine =
    target === null
      ? []
      : [
          s("line", { x1: PAD.left, x2: W - PAD.right, y1: f.y(target), y2: f.y(target), class: "chart-target" }),
          s("text", { x: W - PAD.right, y: f.y(target) - 5, "text-anchor": "end", class: "chart-target-label" }, `target ${pct(target)}`),
        ];
  svg.append(...f.nodes.flat(), ...targetLine, ...lines, ...dots);
  return figure(
    id,
    title,
    summary,
    svg,
    labels.map((l, i) => [l, values[i] === null || values[i] === undefined ? "—" : pct(values[i])]),
    [per.one, "Rate"],
  );
}

/** Horizontal bars: a count per category (volume by service type). */
export function categoryChart({ id, title, entries }) {
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const total = entries.reduce((a, [, v]) => a + v, 0);
  const rowH = 28;
  const left = 110;
  const height = entries.length * rowH + 8;
  const summary = `${title}: ${entries.map(([k, v]) => `${k} ${v}`).join(", ")}; ${total} in total.`;
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart-svg", role: "img", "aria-label": summary, id, focusable: "false" });
  entries.forEach(([k, v], i) => {
    const y = 4 + i * rowH;
    const w = ((W - left - 70) * v) / max;
    svg.append(
      s("text", { x: left - 8, y: y + 18, "text-anchor": "end", class: "chart-label chart-label-strong" }, k),
      s("rect", { x: left, y: y + 4, width: Math.max(v > 0 ? 2 : 0, w), height: rowH - 10, class: "chart-bar" }),
      s("text", { x: left + w + 6, y: y + 18, class: "chart-label" }, `${v}${total ? ` (${Math.round((v / total) * 100)} %)` : ""}`),
    );
  });
  return figure(id, title, summary, svg, entries.map(([k, v]) => [k, String(v)]), ["Type", "Work orders"]);
}
