// Audits: the corrective actions past their deadline and still unverified (each with its
// service clock, highlighted), and a drawn day's sample by region: how many of the region's
// completed work orders were drawn, at what rate and seed, and each audit with its state and
// auditor. Live: any change to an audited work order (a finding, a verification, a breach
// of its clock) refetches; a new draw shows at the next change or visit.

import * as api from "./api.js";
import { h, replace, label, fmtTime, notice, clearNotice, debounce, woLink, hashQuery, setHashQuery, pct } from "./ui.js";
import { section, keyedTable, field, choice } from "./stock-ui.js";
import { mountAudit, correctiveClock, tickClocks } from "./audit.js";

const enc = encodeURIComponent;
const QA_RULE = "QA-CORRECTIVE";

/** A link to an audit; its name says whose audit it is, and contains what it shows. */
const auditLink = (a, text, name) => h("a", { href: `#/audits/${enc(a.id)}`, text, attrs: { "aria-label": name } });

export function mountAudits(main, arg) {
  if (arg) return mountAudit(main, arg);
  let alive = true;
  let skew = 0;
  const now = () => Date.now() + skew;
  const filters = { day: hashQuery().day ?? "" };
  let shownWorkOrders = new Set();

  const overdue = section("au-overdue", "Overdue corrective actions", {
    cls: "audit-overdue",
    hint: "Failed findings whose corrective action is past its deadline and not verified: a breach on the service clock.",
  });
  const sample = section("au-sample", "The day's sample", { cls: "audit-sample" });
  const dayBox = h("form", { class: "filters", attrs: { role: "search", "aria-label": "Choose the day" }, on: { submit: (e) => e.preventDefault() } });
  const root = h(
    "div",
    { class: "audits" },
    h("div", { class: "page-head" }, h("h1", { text: "Audits" })),
    dayBox,
    h("div", { class: "stock-grid" }, overdue.el, sample.el),
  );
  main.append(root);

  const overdueTable = keyedTable("Overdue corrective actions", ["Work order", "Audit", "Region", "Corrective action", "Responsible team", "Deadline", "Clock"]);
  const regionBlocks = new Map();

  function renderDays(days) {
    const sel = choice("day", days.map((d) => [d, d]), { required: false, value: filters.day, empty: days.length ? null : "No day drawn yet" });
    sel.dataset.focusKey = "day";
    sel.addEventListener("change", () => {
      filters.day = sel.value;
      setHashQuery("audits", filters);
      reload();
    });
    const had = dayBox.contains(document.activeElement);
    replace(dayBox, field("au-day", "Drawn day", sel));
    if (had) sel.focus();
  }

  function renderOverdue(rows) {
    overdue.set(String(rows.length > 0), () => (rows.length ? overdueTable.el : h("p", { class: "muted", text: "No corrective action is overdue." })), `· ${rows.length}`);
    overdueTable.update(
      rows.map(({ breach: b, audit, finding: f }) => ({
        key: `${b.wo_id}|${b.anchor}`,
        cls: "row-overdue",
        sig: [b, audit?.id, f?.corrective_action],
        cells: [
          woLink(b.wo_id),
          audit ? auditLink(audit, `${audit.day} (${label(audit.state)})`, `Audit of ${audit.wo_id}, ${audit.day} (${label(audit.state)})`) : "—",
          b.region,
          f?.corrective_action ?? "—",
          f?.responsible_team ?? "—",
          fmtTime(b.due_at),
          correctiveClock({ deadline_at: b.due_at }),
        ],
      })),
    );
  }

  function regionBlock(region) {
    const table = keyedTable(`Audits drawn in ${region}`, ["Work order", "Audit", "State", "Auditor", "Drawn"]);
    const stats = h("p", { class: "muted small" });
    const el = h("div", { class: "audit-region", dataset: { region } }, h("h3", { text: region }), stats, table.el);
    return { el, table, stats };
  }

  function renderSample(draw, audits) {
    const byRegion = new Map();
    for (const a of audits) byRegion.set(a.region, [...(byRegion.get(a.region) ?? []), a]);
    const regions = (draw?.regions ?? []).map((r) => r.region);
    for (const r of byRegion.keys()) if (!regions.includes(r)) regions.push(r);
    const list = h("div", { class: "warehouse-list" });
    sample.set(
      JSON.stringify([regions, draw?.day, draw?.drawn_at]),
      () =>
        regions.length
          ? [draw ? h("p", { class: "small", text: `Drawn ${fmtTime(draw.drawn_at)} by ${draw.drawn_by}: rate ${pct(draw.rate)}, seed ${draw.seed}, ${draw.candidate_count} completed work orders.` }) : null, list]
          : h("p", { class: "muted", text: draw ? "Nothing was completed in your regions that day." : "No sample for this day." }),
      `· ${audits.length}`,
    );
    const box = sample.body.querySelector(".warehouse-list");
    if (!box) return;
    regions.forEach((region, i) => {
      let b = regionBlocks.get(region);
      if (!b) regionBlocks.set(region, (b = regionBlock(region)));
      if (box.children[i] !== b.el) box.insertBefore(b.el, box.children[i] ?? null);
      const d = draw?.regions.find((r) => r.region === region);
      b.stats.textContent = d ? `${d.chosen.length} of ${d.candidates.length} completed drawn.` : "";
      b.table.update(
        (byRegion.get(region) ?? []).map((a) => ({
          key: a.id,
          cells: [
            woLink(a.wo_id),
            auditLink(a, "Open audit", `Open audit of ${a.wo_id}`),
            h("span", { class: `badge ${a.state === "closed" ? "badge-ok" : a.state === "unassigned" ? "badge-warn" : ""}`, text: label(a.state) }),
            a.auditor ?? "waiting for an auditor",
            fmtTime(a.drawn_at),
          ],
        })),
      );
    });
  }

  async function reload() {
    try {
      const [draws, all, breaches, clock] = await Promise.all([
        api.get("/v1/audits/draws"),
        api.get("/v1/audits"),
        api.get("/v1/breaches").catch(() => []),
        api.get("/v1/clock").catch(() => null),
      ]);
      if (clock?.now) skew = clock.now - Date.now();
      const days = [...new Set([...draws.map((d) => d.day), ...all.map((a) => a.day)])].sort().reverse();
      if (!filters.day || !days.includes(filters.day)) filters.day = days[0] ?? "";
      const draw = draws.find((d) => d.day === filters.day) ?? null;
      const ofDay = all.filter((a) => a.day === filters.day);
      // Overdue corrective actions: breaches of their clock not stopped by a verification, on
      // audits this user sees; their findings from the audits' records.
      const auditsOf = new Map();
      for (const a of all) auditsOf.set(a.wo_id, [...(auditsOf.get(a.wo_id) ?? []), a]);
      const late = breaches.filter((b) => b.rule === QA_RULE && b.stopped_at === null && auditsOf.has(b.wo_id));
      const details = new Map();
      for (const a of new Set(late.flatMap((b) => auditsOf.get(b.wo_id)))) {
        details.set(a.id, await api.get(`/v1/audits/${enc(a.id)}`));
      }
      const rows = late.map((b) => {
        for (const a of auditsOf.get(b.wo_id)) {
          const f = details.get(a.id)?.findings.find((x) => x.id === b.anchor);
          if (f) return { breach: b, audit: a, finding: f };
        }
        return { breach: b, audit: auditsOf.get(b.wo_id)[0], finding: null };
      });
      if (!alive) return;
      shownWorkOrders = new Set(all.map((a) => a.wo_id));
      clearNotice(root);
      renderDays(days);
      renderOverdue(rows.filter((r) => !r.finding?.verified_at));
      renderSample(draw, ofDay);
      tickClocks(root, now());
    } catch (err) {
      if (!alive || err.status === 401) return;
      notice(root, err.status === 403 ? `Audits are not for your role: ${err.message}` : `Audits could not be loaded: ${err.message}`, "error");
    }
  }

  const reloadSoon = debounce(reload, 300);
  const ticker = setInterval(() => tickClocks(root, now()), 15_000);
  reload();
  return {
    onChange: ({ ids }) => {
      if (ids === null || ids.some((id) => shownWorkOrders.has(id))) reloadSoon();
    },
    unmount() {
      alive = false;
      clearInterval(ticker);
      reloadSoon.cancel();
    },
  };
}
