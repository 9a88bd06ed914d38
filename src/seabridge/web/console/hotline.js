// The hotline: every message in the sender's language and in English, with its delivery
// state (signed into the sender's log, receipted by the peer node, acknowledged by a person,
// deadline), acknowledgement of incoming messages, and a composer built on the phrasebook.
import { api, authorOf, post } from "./api.js";
import { $, clear, h } from "./dom.js";
import { currentLang, t, timeEl } from "./i18n.js";
import { partyName } from "./incidents.js";

const DEADLINE_CHOICES_MIN = [0, 15, 30, 60, 120];

/** Kinds that ask the receiver for a person's acknowledgement (acks, notes, heartbeats and
 * deadline-missed entries do not). */
const ASKS_ACK = new Set(["notification", "escalation"]);

/** The hotline view inside root; ctx gives {me(), peer(), templates()}. */
export function createHotline(root, ctx) {
  const list = $("#hotline-list", root);
  const composeHost = $("#hotline-compose", root);
  let messages = [];

  function stateChips(m, outgoing) {
    const chips = [
      h("li", { class: "chip ok" }, t("hotline.signed", { seq: m.seq })),
      m.receipted
        ? h("li", { class: "chip ok" }, t("hotline.receipted"), " ", timeEl(m.receipt_time))
        : h("li", { class: "chip wait" }, t(outgoing ? "hotline.awaiting_receipt" : "hotline.receipt_pending")),
      m.acknowledged
        ? h("li", { class: "chip ok" }, t("hotline.acknowledged"))
        : ASKS_ACK.has(m.kind)
          ? h("li", { class: "chip wait" }, t("hotline.not_acknowledged"))
          : null,
    ].filter(Boolean);
    if (m.deadline) {
      const overdue = !m.acknowledged && new Date(m.deadline).getTime() < Date.now();
      chips.push(
        h(
          "li",
          { class: `chip ${overdue ? "bad" : m.acknowledged ? "ok" : "wait"}` },
          t(overdue ? "hotline.deadline_missed" : "hotline.deadline"),
          " ",
          timeEl(m.deadline),
        ),
      );
    }
    return h("ul", { class: "chips", "aria-label": t("hotline.delivery_state") }, chips);
  }

  function render() {
    clear(list);
    if (!messages.length) {
      list.append(h("li", { class: "muted" }, t("hotline.none")));
      return;
    }
    const party = ctx.me()?.party;
    const canAct = ["operator", "admin"].includes(ctx.me()?.role);
    for (const m of [...messages].sort((a, b) => String(b.created).localeCompare(String(a.created)))) {
      const outgoing = authorOf(m.origin) === party;
      const status = h("span", { class: "form-status", role: "status", "aria-live": "polite" });
      const ack = async () => {
        status.textContent = t("form.sending");
        try {
          await post("/api/hotline/ack", { to: authorOf(m.origin), seq: m.seq });
          status.textContent = t("form.done");
          await refresh();
        } catch (err) {
          status.textContent = t("form.failed", { detail: err.detail || err.message });
        }
      };
      list.append(
        h(
          "li",
          { class: `msg card ${outgoing ? "outgoing" : "incoming"}` },
          h(
            "div",
            { class: "msg-head" },
            h("span", { class: "direction" }, t(outgoing ? "hotline.sent_to_peer" : "hotline.from_peer", { party: partyName(authorOf(m.origin)) })),
            h("span", { class: "muted" }, ` · ${m.kind} · #${m.seq}`),
            timeEl(m.created),
          ),
          h("p", { class: "text", lang: m.lang }, m.text ?? ""),
          m.lang !== "en" && m.text_en
            ? h("p", { class: "text-en", lang: "en" }, h("span", { class: "tag" }, "EN"), " ", m.text_en)
            : null,
          stateChips(m, outgoing),
          !outgoing && !m.acknowledged && canAct && ASKS_ACK.has(m.kind)
            ? h("div", { class: "button-row" }, h("button", { type: "button", onclick: ack }, t("hotline.ack")), status)
            : null,
        ),
      );
    }
  }

  async function refresh() {
    try {
      messages = await api("/api/hotline");
    } catch (err) {
      console.warn("hotline", err);
    }
    render();
    ctx.onUnacked?.(
      messages.filter((m) => authorOf(m.origin) !== ctx.me()?.party && !m.acknowledged && ASKS_ACK.has(m.kind))
        .length,
    );
  }

  function renderCompose() {
    clear(composeHost);
    if (!["operator", "admin"].includes(ctx.me()?.role)) return;
    const templates = ctx.templates();
    const select = h(
      "select",
      { id: "hl-template" },
      h("option", { value: "" }, t("compose.free_only")),
      templates.map((tp) => h("option", { value: tp.id }, `${tp.marker} · ${tp.id}`)),
    );
    const params = h("div", { class: "params" });
    const text = h("textarea", { id: "hl-text", rows: 3 });
    const textEn = h("textarea", { id: "hl-text-en", rows: 2 });
    const deadline = h(
      "select",
      { id: "hl-deadline" },
      DEADLINE_CHOICES_MIN.map((m) =>
        h("option", { value: m }, m ? t("compose.deadline_in", { minutes: m }) : t("compose.no_deadline")),
      ),
    );
    const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    select.addEventListener("change", () => {
      clear(params);
      const tp = templates.find((x) => x.id === select.value);
      for (const name of tp?.params ?? []) {
        const id = `hl-p-${name}`;
        params.append(h("label", { for: id }, name), h("input", { id, name }));
      }
    });
    const send = async (e) => {
      e.preventDefault();
      const tp = templates.find((x) => x.id === select.value);
      const minutes = Number(deadline.value);
      const body = {
        to: ctx.peer(),
        kind: "notification",
        lang: currentLang(),
        text: text.value || undefined,
        text_en: currentLang() !== "en" ? textEn.value || undefined : undefined,
        deadline: minutes ? new Date(Date.now() + minutes * 60e3).toISOString() : undefined,
      };
      if (tp) {
        body.template = tp.id;
        body.marker = tp.marker;
        body.params = Object.fromEntries([...params.querySelectorAll("input")].map((i) => [i.name, i.value]));
      }
      if (!tp && !body.text) {
        status.textContent = t("compose.empty");
        return;
      }
      status.textContent = t("form.sending");
      try {
        await post("/api/hotline/send", body);
        status.textContent = t("form.done");
        text.value = textEn.value = "";
        await refresh();
      } catch (err) {
        status.textContent = t("form.failed", { detail: err.detail || err.message });
      }
    };
    composeHost.append(
      h(
        "form",
        { class: "compose card", onsubmit: send },
        h("h3", {}, t("compose.title", { peer: partyName(ctx.peer()) })),
        h("label", { for: "hl-template" }, t("compose.template")),
        select,
        params,
        h("label", { for: "hl-text" }, t("compose.free_text")),
        text,
        currentLang() !== "en" ? [h("label", { for: "hl-text-en" }, t("compose.free_text_en")), textEn] : null,
        h("label", { for: "hl-deadline" }, t("compose.deadline")),
        deadline,
        h("button", { type: "submit", disabled: !ctx.peer() }, t("compose.send")),
        status,
      ),
    );
  }

  return { refresh, render: () => (render(), renderCompose()), renderCompose };
}
