// The parts of a work order's page, each a function of the console's work-order answer
// (`{ view, timeline, clocks, seal, actions, escalations }`) that returns a node.

import { h, label, fmtTime, money, countdown } from "./ui.js";
import { serverNow } from "./cards.js";

const enc = encodeURIComponent;

function dl(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows.filter(Boolean).map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v === null || v === undefined || v === "" ? "—" : v)]),
  );
}

function table(caption, head, rows, cls = "") {
  // A table may scroll sideways on a narrow screen: the keyboard can reach and scroll it.
  return h(
    "div",
    { class: "table-wrap", tabIndex: 0, attrs: { role: "region", "aria-label": caption } },
    h(
      "table",
      { class: cls },
      h("caption", { class: "visually-hidden", text: caption }),
      h("thead", {}, h("tr", {}, head.map((t) => h("th", { attrs: { scope: "col" }, text: t })))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c ?? "—"))))),
    ),
  );
}

/** A device id short enough to read (the server's own are long). */
function shortDevice(id) {
  return id.length > 18 ? `${id.slice(0, 14)}…` : id;
}

/** The short id, with the full one as its title. */
function device(id) {
  return id.length > 18 ? h("span", { text: shortDevice(id), attrs: { title: id } }) : id;
}

function stamp(s) {
  return s ? `${s.user} (${label(s.role)}), ${fmtTime(s.at)}` : "—";
}

export function jobSection({ view: v }) {
  const i = v.intake;
  return dl([
    ["Customer", `${i.customer.name}${i.customer.tier === "vip" ? " (VIP)" : ""}`],
    ["Phone", i.customer.phone],
    ["Address", i.customer.address],
    ["Product", `${i.product.model} · serial ${i.product.serial || "—"}${i.product.purchase_date ? ` · bought ${i.product.purchase_date}` : ""}`],
    ["Service", label(i.service_type)],
    ["Problem", i.problem],
    ["Priority", label(i.priority)],
    ["Skills", i.required_skills.join(", ")],
    ["Region", i.region],
    ["Technician", v.assignee ? `${v.assignee}${v.accepted ? " (accepted)" : " (not yet accepted)"}` : "Unassigned"],
    ["Appointment", v.appointment ? `${fmtTime(v.appointment.start)} – ${fmtTime(v.appointment.end)}${v.appointment.reason ? ` (${v.appointment.reason})` : ""}` : null],
  ]);
}

export function clocksSection({ clocks }) {
  if (!clocks?.length) return h("p", { class: "muted", text: "No service clocks." });
  const now = serverNow();
  return table(
    "Service clocks",
    ["Rule", "Started", "Due", "State"],
    clocks.map((c) => [
      h("span", { text: c.rule, attrs: { title: c.anchor ?? "" } }),
      fmtTime(c.started_at),
      fmtTime(c.due_at),
      clockState(c, now),
    ]),
    "clocks",
  );
}

function clockState(c, now) {
  if (c.breached_at) return h("span", { class: "badge badge-danger", text: `Breached ${fmtTime(c.breached_at)}` });
  if (c.stopped_at) {
    // `moot`: the step stopped mattering (e.g. the job was cancelled) rather than being done.
    const text = c.stop === "moot" ? `Not needed since ${fmtTime(c.stopped_at)}` : `Met ${fmtTime(c.stopped_at)}`;
    return h("span", { class: c.stop === "moot" ? "badge" : "badge badge-ok", text });
  }
  if (c.overdue) return h("span", { class: "badge badge-danger", text: countdown(c.due_at, now) });
  return h("span", { class: c.at_risk ? "badge badge-warn" : "badge", text: `${countdown(c.due_at, now)}${c.at_risk ? " (at risk)" : ""}` });
}

export function escalationsSection({ escalations }, { canResolve, onResolve }) {
  if (!escalations?.length) return h("p", { class: "muted", text: "No escalations." });
  return h(
    "ul",
    { class: "rows" },
    escalations.map((e) =>
      h(
        "li",
        { class: "row" },
        h("span", { class: "badge badge-warn", text: label(e.kind) }),
        h("span", { text: ` ${e.reason}` }),
        h("span", { class: "muted", text: ` · opened ${fmtTime(e.opened_at)}, due ${fmtTime(e.due_at)}` }),
        e.resolved_at
          ? h("span", { class: "muted", text: ` · resolved by ${e.resolved_by}: ${e.resolution}` })
          : canResolve
            ? h("button", {
                type: "button",
                text: "Resolve…",
                dataset: { focusKey: `esc-${e.id}` },
                attrs: { "aria-label": `Resolve escalation: ${label(e.kind)}` },
                on: { click: () => onResolve(e) },
              })
            : null,
      ),
    ),
  );
}

/** Conflicts in plain words: what each side did (from the timeline) and which rule decided. */
export function conflictsSection({ view, timeline }) {
  if (!view.conflicts.length) return h("p", { class: "muted", text: "No conflicts: every device agreed." });
  const byId = new Map((timeline ?? []).map((t) => [t.event, t]));
  return h(
    "ul",
    { class: "conflicts" },
    view.conflicts.map((c) =>
      h(
        "li",
        { class: c.resolved ? "conflict resolved" : "conflict" },
        h("p", { class: "conflict-kind" }, h("strong", { text: label(c.kind) }), c.resolved ? h("span", { class: "badge badge-ok", text: "resolved" }) : h("span", { class: "badge badge-warn", text: "needs a look" })),
        h(
          "ul",
          { class: "conflict-sides" },
          c.events.map((id) => {
            const t = byId.get(id);
            return h("li", { text: t ? `${t.user} (${label(t.role)}) on ${shortDevice(t.device)}: ${describe(t)}, ${fmtTime(t.device_at)} device time` : `event ${id}` });
          }),
        ),
        h("p", { class: "conflict-outcome" }, h("span", { class: "muted", text: "Decided: " }), c.outcome),
      ),
    ),
  );
}

/** An event in words: its kind and the fields that matter (the timeline's `kind` object). */
export function describe(t) {
  const k = t.kind && typeof t.kind === "object" ? t.kind : { kind: String(t.kind ?? "unknown") };
  const why = (r) => (r ? `: ${r}` : "");
  switch (k.kind) {
    case "assigned":
      return `Assigned to ${k.technician}${why(k.reason)}`;
    case "unassigned":
      return `Unassigned${why(k.reason)}`;
    case "declined":
      return `Declined${why(k.reason)}`;
    case "accept_timed_out":
      return `Acceptance timed out for ${k.technician}`;
    case "appointment_set":
      return `Appointment ${fmtTime(k.start)} – ${fmtTime(k.end)}${why(k.reason)}`;
    case "diagnosed":
      return `Diagnosed: ${k.cause}`;
    case "quoted":
      return `Quoted ${money((k.items ?? []).reduce((a, i) => a + i.price_cents, 0))}`;
    case "consent_given":
      return `Consent given by ${k.by}`;
    case "part_added":
      return `Part added: ${k.part?.sku} × ${k.part?.qty}`;
    case "part_changed":
      return `Part line ${k.line} changed: ${Object.entries(k.patch ?? {}).filter(([, v]) => v !== null).map(([f, v]) => `${f} ${v}`).join(", ")}`;
    case "part_removed":
      return `Part line ${k.line} removed`;
    case "photo_added":
      return `Photo added (${k.photo_kind})${k.caption ? `: ${k.caption}` : ""}`;
    case "photo_removed":
      return "Photo removed";
    case "tested":
      return `Test ${k.passed ? "passed" : "failed"}${why(k.details)}`;
    case "signed":
      return `Signed by ${k.signer}`;
    case "completed":
      return k.fixed ? "Completed, fixed" : "Completed, not fixed";
    case "followed_up":
      return `Follow-up: score ${k.score}${why(k.comment)}`;
    case "cancelled":
      return `Cancelled${why(k.reason)}`;
    case "reopened":
      return `Reopened${why(k.reason)}`;
    case "conflict_resolved":
      return `Conflict resolved${why(k.note)}`;
    case "classified":
      return `Classified: ${k.category}${k.urgent ? ", urgent" : ""}`;
    case "escalation_handled":
      return `Escalation handled: ${k.action}`;
    default:
      return label(k.kind);
  }
}

export function fieldSection({ view: v }) {
  return dl([
    ["Diagnosis", v.diagnosis ? `${v.diagnosis.cause}; proposed: ${v.diagnosis.solutions.join("; ")}` : null],
    ["Quote", v.quote ? `${v.quote.items.map((i) => `${i.description} ${money(i.price_cents)}`).join(", ")} = ${money(v.quote.total_cents)}` : null],
    ["Consent", v.consent ? `${v.consent.by_name} · ${stamp(v.consent.recorded)}` : null],
    ["Test", v.test ? `${v.test.passed ? "Passed" : "Failed"}${v.test.details ? `: ${v.test.details}` : ""}` : null],
    ["Completion", v.completion ? `${v.completion.fixed ? "Fixed" : "Not fixed"} · ${stamp(v.completion.by)}` : null],
    v.follow_up ? ["Follow-up", `Score ${v.follow_up.score}${v.follow_up.comment ? `: “${v.follow_up.comment}”` : ""}${v.follow_up.remedial ? `; remedial: ${v.follow_up.remedial}` : ""}`] : null,
    v.classification ? ["Complaint", `${label(v.classification.category)}${v.classification.urgent ? ", urgent" : ""}`] : null,
    v.escalation_handled ? ["Escalation handled", `${v.escalation_handled.action} · ${stamp(v.escalation_handled.by)}`] : null,
    v.cancellation ? ["Cancelled", `${v.cancellation.reason} · ${stamp(v.cancellation.by)}`] : null,
    ["Notes", v.notes ? h("span", { class: "notes", text: v.notes }) : null],
  ]);
}

export function partsSection({ view }) {
  if (!view.parts.length) return h("p", { class: "muted", text: "No parts recorded." });
  return table(
    "Part lines",
    ["SKU", "Qty", "New serial", "Old serial", "Price", "Old part", "Added", "State"],
    view.parts.map((p) => [
      p.sku,
      String(p.qty),
      p.serial_new || "—",
      p.serial_old || "—",
      money(p.price_cents),
      label(p.old_part),
      stamp(p.added),
      p.removed ? h("span", { class: "badge", text: `removed by ${p.removed.user}` }) : h("span", { class: "badge badge-ok", text: "used" }),
    ]),
    "parts",
  );
}

export function photosSection({ view }) {
  const photos = view.photos.filter((p) => !p.removed);
  if (!photos.length) return h("p", { class: "muted", text: "No photos." });
  return h(
    "ul",
    { class: "photos" },
    photos.map((p) =>
      h(
        "li",
        {},
        h(
          "a",
          { href: `/v1/blobs/${enc(p.blob)}`, target: "_blank", rel: "noopener" },
          h("img", {
            src: `/v1/blobs/${enc(p.blob)}/thumbnail`,
            alt: `${label(p.kind)} photo${p.caption ? `: ${p.caption}` : ""}`,
            loading: "lazy",
            width: 160,
            height: 120,
          }),
        ),
        h("p", { class: "small" }, h("span", { class: "badge", text: label(p.kind) }), ` ${p.caption || ""}`, h("br"), h("span", { class: "muted", text: `taken ${fmtTime(p.taken_at)}` })),
      ),
    ),
  );
}

const SEAL_TEXT = {
  valid: ["badge-ok", "Seal valid: nothing signed has changed since"],
  broken: ["badge-danger", "Seal broken: signed content changed after signing"],
  unverifiable: ["badge-warn", "Seal cannot be checked"],
  none: ["badge", "Not signed"],
};

export function signatureSection({ view, seal }) {
  const [cls, text] = SEAL_TEXT[seal?.state] ?? SEAL_TEXT.none;
  const sig = view.signature;
  const changes = seal?.changes ?? [];
  return h(
    "div",
    { class: "signature" },
    h("p", {}, h("span", { class: `badge ${cls}`, text })),
    seal?.detail && seal.state !== "none" ? h("p", { class: "small", text: seal.detail }) : null,
    changes.length
      ? h(
          "ul",
          { class: "seal-changes small" },
          changes.map((c) =>
            h("li", { text: `${label(c.area)}${c.item ? ` ${c.item}` : ""}: signed “${c.signed ?? "nothing"}”, now “${c.now ?? "removed"}”` }),
          ),
        )
      : null,
    sig
      ? h(
          "figure",
          {},
          h("img", { src: `/v1/blobs/${enc(sig.blob)}`, alt: `Signature of ${sig.signer}`, class: "signature-img" }),
          h("figcaption", { text: `Signed by ${sig.signer} · ${stamp(sig.by)}` }),
        )
      : null,
  );
}

/** The field time the clocks used, when it differs from the device's own clock. */
function fieldTime(t) {
  if (t.field_at === null || t.field_at === undefined) return "—";
  if (Math.abs(t.field_at - t.device_at) < 60_000) return "device time";
  return h("span", { class: "badge badge-warn", text: fmtTime(t.field_at), attrs: { title: "The device clock was off; the clocks counted this time" } });
}

export function timelineSection({ timeline }) {
  if (!timeline?.length) return h("p", { class: "muted", text: "No events." });
  return table(
    "Event timeline",
    ["Step", "Who", "Device", "Device time", "Received", "Counted as"],
    timeline.map((t) => [
      h("span", { attrs: { title: t.event }, text: describe(t) }),
      `${t.user} (${label(t.role)})`,
      device(t.device),
      fmtTime(t.device_at),
      t.received_at ? fmtTime(t.received_at) : "—",
      fieldTime(t),
    ]),
    "timeline",
  );
}
