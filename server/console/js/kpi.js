// KPIs for a date range and region: the manager's report against its targets (repeat-fault
// rate included), volume by type, trends as charts by day, ISO week or calendar month (a
// switch), and the figures of the chosen period as CSV.

import * as api from "./api.js";
import { h, replace, pct, notice, clearNotice, select, hashQuery, setHashQuery, loading } from "./ui.js";
import { barChart, rateChart, categoryChart } from "./charts.js";

const DAY_MS = 86_400_000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const PERIODS = [
  { value: "day", label: "Day", each: "Daily", one: "day" },
  { value: "week", label: "Week", each: "Weekly", one: "week" },
  { value: "month", label: "Month", each: "Monthly", one: "month" },
];
const periodOf = (v) => PERIODS.find((p) => p.value === v) ?? PERIODS[0];

export function mountKpi(main) {
  const q = hashQuery();
  const filters = { from: q.from ?? "", to: q.to ?? "", region: q.region ?? "", period: periodOf(q.period).value };
  let alive = true;
  let seq = 0;

  const form = h("form", { class: "filters", attrs: { "aria-label": "Report range" } });
  const csv = h("a", { class: "button-link", text: "Download daily figures (CSV)" });
  const tiles = h("div", { class: "tiles" });
  const charts = h("div", { class: "charts" });
  const trendsTitle = h("h2", { id: "kpi-trends", text: "Daily trends" });
  const switcher = h(
    "fieldset",
    { class: "period-switch" },
    h("legend", { text: "Trend by" }),
    PERIODS.map((p) =>
      h(
        "label",
        { class: "period-option" },
        h("input", { type: "radio", name: "k-period", value: p.value, checked: p.value === filters.period }),
        ` ${p.label}`,
      ),
    ),
  );
  switcher.onchange = (e) => {
    if (e.target?.name !== "k-period") return;
    filters.period = periodOf(e.target.value).value;
    setHashQuery("kpi", filters);
    load();
  };
  const root = h(
    "div",
    { class: "kpi" },
    h("div", { class: "page-head" }, h("h1", { text: "KPIs" }), csv),
    form,
    h("section", { attrs: { "aria-labelledby": "kpi-report" } }, h("h2", { id: "kpi-report", text: "Report" }), tiles),
    h("section", { attrs: { "aria-labelledby": "kpi-trends" } }, trendsTitle, switcher, charts),
  );
  main.append(root);

  function renderForm(regions) {
    const from = h("input", { id: "k-from", name: "from", type: "date", value: filters.from, required: true });
    const to = h("input", { id: "k-to", name: "to", type: "date", value: filters.to, required: true });
    replace(
      form,
      h("div", { class: "filter-fields" }, [
        h("div", { class: "field" }, h("label", { attrs: { for: "k-from" }, text: "From" }), from),
        h("div", { class: "field" }, h("label", { attrs: { for: "k-to" }, text: "To (inclusive)" }), to),
        select("k-region", "Region", regions, filters.region, "All my regions"),
      ]),
      h("button", { type: "submit", class: "button-primary", text: "Show" }),
    );
    form.onsubmit = (e) => {
      e.preventDefault();
      filters.from = from.value;
      filters.to = to.value;
      filters.region = form.querySelector("#k-region").value;
      setHashQuery("kpi", filters);
      load();
    };
  }

  async function load() {
    const my = ++seq;
    const query = { from: filters.from, to: filters.to, region: filters.region };
    const period = periodOf(filters.period);
    const trendQuery = { period: period.value, ...query };
    // Days keep the daily CSV (with breaches by rule); weeks and months the trend's.
    csv.href =
      period.value === "day"
        ? api.withQuery("/v1/kpi/daily", { ...query, format: "csv" })
        : api.withQuery("/v1/kpi/trends", { ...trendQuery, format: "csv" });
    csv.textContent = `Download ${period.each.toLowerCase()} figures (CSV)`;
    csv.setAttribute("download", `fieldsync-kpi-${period.value}-${filters.from}-${filters.to}${filters.region ? `-${filters.region}` : ""}.csv`);
    trendsTitle.textContent = `${period.each} trends`;
    replace(tiles, loading("Loading the report…"));
    charts.replaceChildren();
    try {
      const [report, points] = await Promise.all([
        api.get(api.withQuery("/v1/kpi", query)),
        api.get(api.withQuery("/v1/kpi/trends", trendQuery)),
      ]);
      if (!alive || my !== seq) return;
      clearNotice(root);
      renderReport(report);
      renderCharts(report, points, period);
    } catch (err) {
      if (!alive || err.status === 401) return;
      tiles.replaceChildren();
      notice(root, `The KPIs could not be loaded: ${err.message}`, "error");
    }
  }

  function renderReport(r) {
    replace(
      tiles,
      rateTile("First response within 24 h", r.first_response_24h),
      rateTile("First-time fix", r.first_time_fix),
      rateTile("Satisfaction (score 4 or 5)", r.satisfaction),
      rateTile("Complaint rate", r.complaint_rate, { lowerIsBetter: true }),
      rateTile(`Repeat faults (back within ${r.repeat_window_days ?? 30} days)`, r.repeat_fault_rate, { lowerIsBetter: true }),
      minutesTile("Average response time", r.avg_response_minutes),
      minutesTile("Average time to accept", r.avg_acceptance_minutes),
      tile("Work orders", String(r.work_orders), `${r.completed} completed, ${r.cancelled} cancelled`, null),
    );
  }

  function renderCharts(r, points, period) {
    const labels = points.map((d) => d.period);
    const rate = (key) => points.map((d) => d[key]?.rate ?? null);
    const target = (key) => points.find((d) => d[key]?.target !== null && d[key]?.target !== undefined)?.[key].target ?? null;
    const p = period.value;
    replace(
      charts,
      categoryChart({ id: "chart-types", title: "Volume by service type", entries: Object.entries(r.volume_by_type ?? {}) }),
      barChart({ id: "chart-volume", title: `${period.each} volume (work orders created)`, labels, values: points.map((d) => d.volume), period: p }),
      rateChart({ id: "chart-resolution", title: `Resolution rate (completed that ${period.one} and fixed)`, labels, values: rate("resolution_rate"), target: target("resolution_rate"), period: p }),
      rateChart({ id: "chart-satisfaction", title: "Satisfaction", labels, values: rate("satisfaction"), target: target("satisfaction") ?? r.satisfaction?.target ?? null, period: p }),
      rateChart({ id: "chart-ftf", title: "First-time fix", labels, values: rate("first_time_fix"), target: target("first_time_fix") ?? r.first_time_fix?.target ?? null, period: p }),
      rateChart({ id: "chart-repeat", title: `Repeat-fault rate (back within ${r.repeat_window_days ?? 30} days)`, labels, values: rate("repeat_fault_rate"), period: p }),
    );
  }

  async function init() {
    let today = isoDay(Date.now());
    try {
      const clock = await api.get("/v1/clock");
      today = isoDay(clock.now);
    } catch {
      // The browser's day will do.
    }
    if (!filters.to) filters.to = today;
    if (!filters.from) filters.from = isoDay(Date.parse(filters.to) - 29 * DAY_MS);
    const regions = await api.regionChoices();
    if (!alive) return;
    renderForm(regions);
    load();
  }

  init();
  return {
    unmount() {
      alive = false;
    },
  };
}

function tile(title, value, detail, state) {
  return h(
    "div",
    { class: `tile${state ? ` tile-${state}` : ""}` },
    h("h3", { class: "tile-title", text: title }),
    h("p", { class: "tile-value", text: value }),
    detail ? h("p", { class: "tile-detail", text: detail }) : null,
    state ? h("p", { class: `badge ${state === "met" ? "badge-ok" : "badge-danger"}`, text: state === "met" ? "target met" : "below target" }) : null,
  );
}

function rateTile(title, r, { lowerIsBetter = false } = {}) {
  if (!r) return tile(title, "—", "not reported", null);
  const state = r.meets_target === true ? "met" : r.meets_target === false ? "missed" : null;
  const target = r.target !== null && r.target !== undefined ? `target ${lowerIsBetter ? "≤" : "≥"} ${pct(r.target)} · ` : "";
  return tile(title, pct(r.rate), `${target}${r.numerator} of ${r.denominator}`, state);
}

function minutesTile(title, a) {
  if (!a) return tile(title, "—", "not reported", null);
  const value = a.value === null || a.value === undefined ? "—" : `${a.value.toFixed(1)} min`;
  const target = a.target !== null && a.target !== undefined ? `target ≤ ${a.target} min · ` : "";
  const state = a.meets_target === true ? "met" : a.meets_target === false ? "missed" : null;
  return tile(title, value, `${target}over ${a.count} work orders`, state);
}
