// Incidents: the list (filter by level and status) and the detail of one incident (timeline,
// metrics, vessels, deadlines, hotline thread) with the operator's actions: acknowledge, add a
// note, send a templated hotline message with free text, resolve.
import { api, post } from "./api.js";
import { $, clear, h } from "./dom.js";
import { currentLang, num, t, timeEl } from "./i18n.js";
import { PARTY_KEYS, partyOf } from "./symbols.js";

export const STATUS_KEYS = {
  open: "status.open",
  notified: "status.notified",
  acknowledged: "status.acknowledged",
  escalated: "status.escalated",
  "de-escalating": "status.de_escalating",
  resolved: "status.resolved",
  closed: "status.closed",
  retracted: "status.retracted",
};
const ACTIVE = new Set(["open", "notified", "acknowledged", "escalated", "de-escalating"]);
const LEVEL_KEYS = { 1: "level.1", 2: "level.2", 3: "level.3", 4: "level.4" };
const DELIVERY_KEYS = {
  pending: "deadline.pending",
  met: "deadline.met",
  missed: "deadline.missed",
};

/** A party's name in the UI language when it is one we know, else its id. */
export const partyName = (id) => (PARTY_KEYS[id] ? t(PARTY_KEYS[id]) : String(id ?? "—"));

export const statusText = (s) => (STATUS_KEYS[s] ? t(STATUS_KEYS[s]) : s);
export const levelBadge = (level) =>
  h(
    "span",
    { class: `level-badge level-${level}`, title: LEVEL_KEYS[level] ? t(LEVEL_KEYS[level]) : "" },
    t("level.short"),
    " ",
    String(level ?? "—"),
  );

/** The incidents view inside root; ctx gives {me, templates(), focusMap(lat, lon)}. */
export function createIncidents(root, ctx) {
  const list = $("#incident-list", root);
  const detail = $("#incident-detail", root);
  const levelFilter = $("#filter-level", root);
  const statusFilter = $("#filter-status", root);
  let incidents = [];
  let openId = null;

  function renderList() {
    clear(list);
    const minLevel = Number(levelFilter.value || 0);
    const status = statusFilter.value;
    const shown = incidents
      .filter((i) => i.level >= minLevel)
      .filter((i) => !status || (status === "active" ? ACTIVE.has(i.status) : i.status === status))
      .sort((a, b) => b.level - a.level || String(b.updated).localeCompare(String(a.updated)));
    if (!shown.length) {
      list.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("incident.none"))));
      return;
    }
    for (const i of shown) {
      const open = () => show(i.id);
      list.append(
        h(
          "tr",
          {
            tabindex: 0,
            class: i.id === openId ? "selected" : "",
            "aria-selected": i.id === openId ? "true" : "false",
            onclick: open,
            onkeydown: (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), open()),
          },
          h("td", {}, levelBadge(i.level)),
          h("td", {}, h("span", { class: `status status-${i.status}` }, statusText(i.status))),
          h("td", {}, i.kind, i.flagged ? h("span", { class: "flag", title: t("incident.flagged") }, " ⚑") : null),
          h("td", {}, i.zone ?? "—"),
          h("td", {}, (i.vessels ?? []).join(", ")),
          h("td", {}, timeEl(i.updated)),
        ),
      );
    }
  }

  async function refresh() {
    try {
      incidents = await api("/api/incidents");
    } catch (err) {
      console.warn("incidents", err);
    }
    renderList();
    ctx.onCount?.(incidents.filter((i) => ACTIVE.has(i.status)).length);
    if (openId) show(openId, { quiet: true });
  }

  async function show(id, { quiet = false } = {}) {
    openId = id;
    renderList();
    let inc;
    try {
      inc = await api(`/api/incidents/${encodeURIComponent(id)}`);
    } catch (err) {
      if (!quiet) showError(detail, err);
      return;
    }
    renderDetail(inc);
  }

  function section(titleKey, ...body) {
    return h("section", { class: "card" }, h("h3", {}, t(titleKey)), ...body);
  }

  function metricsOf(inc) {
    const rows = [];
    for (const e of inc.events ?? []) {
      for (const [k, v] of Object.entries(e.metrics ?? {})) {
        rows.push(h("tr", {}, h("td", {}, e.rule_id), h("th", { scope: "row" }, k), h("td", {}, num(v, 2))));
      }
    }
    return rows.length
      ? h(
          "table",
          { class: "grid" },
          h("thead", {}, h("tr", {}, h("th", {}, t("incident.rule")), h("th", {}, t("incident.metric")), h("th", {}, t("incident.value")))),
          h("tbody", {}, rows),
        )
      : h("p", { class: "muted" }, t("incident.no_metrics"));
  }

  function renderDetail(inc) {
    clear(detail);
    const rb = inc.rulebook ?? {};
    const peer = (inc.peers ?? [])[0] ?? ctx.peer?.();
    // h() skips null children; Element.append would print them.
    detail.append(h("div", { class: "incident-body" },
      h(
        "div",
        { class: "panel-head" },
        h("h2", { tabindex: -1, id: "incident-title" }, t("incident.title", { id: inc.id })),
        levelBadge(inc.level),
        h("span", { class: `status status-${inc.status}` }, statusText(inc.status)),
      ),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("incident.kind")),
        h("dd", {}, inc.kind),
        h("dt", {}, t("incident.origin")),
        h("dd", {}, t(PARTY_KEYS[partyOf(inc.origin)])),
        h("dt", {}, t("incident.zone")),
        h("dd", {}, inc.zone ?? "—"),
        h("dt", {}, t("incident.rulebook")),
        h("dd", {}, `${rb.id ?? "—"} v${rb.version ?? "?"}`, h("code", { class: "hash" }, (rb.sha256 ?? "").slice(0, 12))),
        h("dt", {}, t("incident.started")),
        h("dd", {}, timeEl(inc.start)),
        h("dt", {}, t("incident.updated")),
        h("dd", {}, timeEl(inc.updated)),
      ),
      rb.agreed === false || rb.warning
        ? h("p", { class: "warning", role: "note" }, t("incident.rulebook_not_agreed"), rb.warning ? ` (${rb.warning})` : "")
        : null,
      inc.closing_proposed ? h("p", { class: "note" }, t("incident.closing_proposed")) : null,
      inc.extent
        ? h(
            "button",
            {
              type: "button",
              class: "link-button",
              onclick: () => ctx.focusMap((inc.extent.min_lat + inc.extent.max_lat) / 2, (inc.extent.min_lon + inc.extent.max_lon) / 2),
            },
            t("incident.show_on_map"),
          )
        : null,
      actions(inc, peer),
      section(
        "incident.timeline",
        h(
          "ol",
          { class: "timeline" },
          (inc.timeline ?? []).map((s) =>
            h(
              "li",
              {},
              timeEl(s.at),
              h("strong", {}, s.action),
              s.from || s.to ? h("span", {}, ` ${statusText(s.from ?? "")} → ${statusText(s.to ?? "")}`) : null,
              s.actor ? h("span", { class: "muted" }, ` · ${s.actor}`) : null,
              s.cause ? h("span", { class: "muted" }, ` · ${s.cause}`) : null,
              s.detail ? h("div", { class: "detail" }, typeof s.detail === "string" ? s.detail : JSON.stringify(s.detail)) : null,
            ),
          ),
        ),
      ),
      section("incident.metrics", metricsOf(inc)),
      section(
        "incident.vessels",
        h(
          "table",
          { class: "grid" },
          h("thead", {}, h("tr", {}, h("th", {}, t("vessel.mmsi")), h("th", {}, t("vessel.name")), h("th", {}, t("vessel.party")), h("th", {}, t("vessel.flag")))),
          h(
            "tbody",
            {},
            (inc.vessels ?? []).map((v) =>
              h(
                "tr",
                {},
                h("td", {}, String(v.mmsi)),
                h("td", {}, v.static?.name ?? "—"),
                h("td", {}, t(PARTY_KEYS[partyOf(v.party)])),
                h("td", {}, v.flag_party ?? v.static?.flag ?? "—"),
              ),
            ),
          ),
        ),
      ),
      section(
        "incident.deadlines",
        (inc.deadlines ?? []).length
          ? h(
              "ul",
              { class: "plain" },
              inc.deadlines.map((d) =>
                h(
                  "li",
                  { class: `deadline deadline-${d.state}` },
                  h("span", { class: "badge" }, DELIVERY_KEYS[d.state] ? t(DELIVERY_KEYS[d.state]) : d.state),
                  " ",
                  t("deadline.due"),
                  " ",
                  timeEl(d.due),
                  ` · ${d.peer} #${d.seq} · `,
                  levelBadge(d.level),
                ),
              ),
            )
          : h("p", { class: "muted" }, t("incident.no_deadlines")),
      ),
      section(
        "incident.thread",
        (inc.thread ?? []).length
          ? h(
              "ol",
              { class: "thread" },
              inc.thread.map((m) =>
                h(
                  "li",
                  { class: `msg ${m.direction === "out" || m.direction === "outbound" ? "outgoing" : "incoming"}` },
                  timeEl(m.created),
                  h("strong", {}, ` ${m.kind}`),
                  m.template ? h("code", {}, ` ${m.template}`) : null,
                  h("span", { class: "muted" }, ` · ${m.origin} #${m.seq} → ${m.peer ?? ""}`),
                ),
              ),
            )
          : h("p", { class: "muted" }, t("incident.no_messages")),
      ),
    ));
    $("#incident-title", detail)?.focus();
  }

  function actions(inc, peer) {
    const canAct = ctx.me()?.role === "operator" || ctx.me()?.role === "admin";
    if (!canAct) return h("p", { class: "muted" }, t("incident.read_only"));
    const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    const run = async (fn) => {
      status.textContent = t("form.sending");
      try {
        await fn();
        status.textContent = t("form.done");
        await refresh();
      } catch (err) {
        status.textContent = t("form.failed", { detail: err.detail || err.message });
      }
    };
    const textId = `action-text-${inc.id}`;
    const text = h("textarea", { id: textId, rows: 2 });
    const internal = h("input", { type: "checkbox", id: `${textId}-internal` });
    const active = ACTIVE.has(inc.status);
    return h(
      "section",
      { class: "card actions" },
      h("h3", {}, t("incident.actions")),
      h("label", { for: textId }, t("incident.action_text")),
      text,
      h("div", { class: "row" }, internal, h("label", { for: `${textId}-internal` }, t("incident.note_internal"))),
      h(
        "div",
        { class: "button-row" },
        h(
          "button",
          { type: "button", disabled: !active || inc.status === "acknowledged", onclick: () => run(() => post(`/api/incidents/${inc.id}/ack`, { text: text.value })) },
          t("incident.ack"),
        ),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => run(() => post(`/api/incidents/${inc.id}/note`, { text: text.value, internal: internal.checked })) },
          t("incident.add_note"),
        ),
        h(
          "button",
          { type: "button", class: "danger", disabled: !active, onclick: () => run(() => post(`/api/incidents/${inc.id}/resolve`, { text: text.value })) },
          t("incident.resolve"),
        ),
      ),
      status,
      peer ? composeForm(inc, peer, () => refresh()) : null,
    );
  }

  function composeForm(inc, peer, done) {
    const templates = ctx.templates();
    const ordered = [...templates].sort((a, b) => (b.kind === inc.kind) - (a.kind === inc.kind));
    const prefix = `compose-${inc.id}`;
    const select = h(
      "select",
      { id: `${prefix}-template` },
      ordered.map((tp) => h("option", { value: tp.id }, `${tp.marker} · ${tp.id}`)),
    );
    const params = h("div", { class: "params" });
    const free = h("textarea", { id: `${prefix}-text`, rows: 2 });
    const preview = h("div", { class: "preview", "aria-live": "polite" });
    const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    const defaults = {
      incident: inc.id,
      vessel: (inc.vessels ?? [])[0]?.mmsi,
      vessel_a: (inc.vessels ?? [])[0]?.mmsi,
      vessel_b: (inc.vessels ?? [])[1]?.mmsi,
      rulebook: inc.rulebook ? `${inc.rulebook.id} v${inc.rulebook.version}` : undefined,
      zone: inc.zone,
    };
    const values = () =>
      Object.fromEntries([...params.querySelectorAll("input")].map((i) => [i.name, i.value]));
    const fill = (text, vals) => text.replace(/\{(\w+)\}/g, (m, k) => (vals[k] ? vals[k] : m));
    const update = () => {
      const tp = templates.find((x) => x.id === select.value);
      clear(preview);
      if (!tp) return;
      const lang = currentLang();
      const vals = values();
      preview.append(
        h("p", { lang }, fill(tp.text?.[lang] ?? tp.text?.en ?? "", vals)),
        lang !== "en" ? h("p", { lang: "en", class: "muted" }, fill(tp.text?.en ?? "", vals)) : null,
        free.value ? h("p", {}, free.value) : null,
      );
    };
    const buildParams = () => {
      clear(params);
      const tp = templates.find((x) => x.id === select.value);
      for (const name of tp?.params ?? []) {
        const id = `${prefix}-p-${name}`;
        params.append(
          h("label", { for: id }, name),
          h("input", { id, name, value: defaults[name] ?? "", oninput: update }),
        );
      }
      update();
    };
    select.addEventListener("change", buildParams);
    free.addEventListener("input", update);
    const send = async (e) => {
      e.preventDefault();
      const tp = templates.find((x) => x.id === select.value);
      status.textContent = t("form.sending");
      try {
        await post("/api/hotline/send", {
          to: peer,
          kind: "notification",
          template: tp?.id,
          params: values(),
          marker: tp?.marker,
          text: free.value || undefined,
          lang: currentLang(),
        });
        status.textContent = t("form.done");
        done();
      } catch (err) {
        status.textContent = t("form.failed", { detail: err.detail || err.message });
      }
    };
    const form = h(
      "form",
      { class: "compose", onsubmit: send },
      h("h4", {}, t("compose.title", { peer: partyName(peer) })),
      h("label", { for: select.id }, t("compose.template")),
      select,
      params,
      h("label", { for: free.id }, t("compose.free_text")),
      free,
      h("div", { class: "preview-label" }, t("compose.preview")),
      preview,
      h("button", { type: "submit" }, t("compose.send")),
      status,
    );
    buildParams();
    return form;
  }

  levelFilter.addEventListener("change", renderList);
  statusFilter.addEventListener("change", renderList);
  return { refresh, show, render: () => (renderList(), openId && show(openId, { quiet: true })) };
}

export function showError(container, err) {
  clear(container);
  container.append(h("p", { class: "error", role: "alert" }, t("error.load", { detail: err.detail || err.message })));
}
