// Console entry point: language, login, tabs, clocks, and the wiring between the API, the live
// feed and the three views (map, incidents, hotline). Domain logic lives on the node; this
// file only fetches, routes messages and presents.
import { ApiError, api, authorOf, liveFeed, post, setCsrf } from "./api.js";
import { $, h } from "./dom.js";
import { applyI18n, initialLang, localText, onLangChange, setLang, t, utcText } from "./i18n.js";
import { createHotline } from "./hotline.js";
import { createIncidents } from "./incidents.js";
import { createMap } from "./map.js";
import { PARTY_COLOURS, PARTY_KEYS, SHAPES, SHAPE_KEYS, drawSymbol } from "./symbols.js";

const state = { me: null, peer: null, templates: [], feed: null, map: null, booted: false };
let incidents;
let hotline;

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// --- tabs -------------------------------------------------------------------------------
function selectTab(name) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.dataset.view === name;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    $(`#view-${tab.dataset.view}`).hidden = !on;
  }
  if (name === "map") state.map?.map.resize();
  history.replaceState(null, "", `#${name}`);
}

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => selectTab(tab.dataset.view));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      selectTab(next.dataset.view);
    });
  });
}

// --- clocks and legend ------------------------------------------------------------------
function tick() {
  const now = new Date().toISOString();
  $("#clock-utc").textContent = utcText(now);
  $("#clock-local").textContent = `${t("time.local")} ${localText(now)}`;
}

function drawLegend() {
  const ratio = Math.max(1, window.devicePixelRatio || 1);
  const canvas = (shape, party) => {
    const c = h("canvas", { width: 20 * ratio, height: 20 * ratio, "aria-hidden": "true" });
    drawSymbol(c.getContext("2d"), shape, party, 20 * ratio);
    return c;
  };
  const parties = $("#legend-parties");
  parties.replaceChildren(
    ...Object.keys(PARTY_COLOURS).map((p) => h("li", {}, canvas("merchant", p), " ", t(PARTY_KEYS[p]))),
  );
  const shapes = $("#legend-shapes");
  shapes.replaceChildren(
    ...SHAPES.map((s) => h("li", {}, canvas(s, "other"), " ", t(SHAPE_KEYS[s]))),
  );
}

// --- login ------------------------------------------------------------------------------
function showLogin() {
  $("#app").inert = true;
  const dialog = $("#login");
  if (!dialog.open) dialog.showModal();
  $("#login-username").focus();
}

async function onLogin(e) {
  e.preventDefault();
  const msg = $("#login-message");
  msg.textContent = "";
  try {
    const r = await post("/api/login", {
      username: $("#login-username").value,
      password: $("#login-password").value,
    });
    setCsrf(r.csrf);
    $("#login-password").value = "";
    $("#login").close();
    $("#app").inert = false;
    await boot();
  } catch (err) {
    if (err instanceof ApiError && err.status === 429) {
      msg.textContent = t("login.throttled", { seconds: err.retryAfterS ?? "?" });
    } else if (err instanceof ApiError && err.status === 401) {
      msg.textContent = t("login.failed");
    } else {
      msg.textContent = t("error.load", { detail: err.message });
    }
  }
}

async function onLogout() {
  try {
    await post("/api/logout");
  } finally {
    state.feed?.close();
    state.feed = null;
    state.me = null;
    setCsrf(null);
    showLogin();
  }
}

// --- data -------------------------------------------------------------------------------
async function loadPeer() {
  try {
    const ledger = await api("/api/ledger");
    const other = (ledger.logs ?? []).map((l) => authorOf(l.origin)).find((o) => o && o !== state.me.party);
    if (other) state.peer = other;
  } catch {
    // The ledger may be closed to this role; the hotline list can still name the peer.
  }
  if (!state.peer) {
    try {
      const msgs = await api("/api/hotline");
      state.peer = msgs.map((m) => authorOf(m.origin)).find((o) => o && o !== state.me.party) ?? null;
    } catch {
      state.peer = null;
    }
  }
}

async function loadMapData() {
  const [zones, events] = await Promise.allSettled([
    api("/api/zones?lang=en"),
    api(`/api/events?since=${new Date(Date.now() - state.map.eventHours * 3600e3).toISOString()}`),
  ]);
  if (zones.status === "fulfilled") state.map.setZones(zones.value);
  if (events.status === "fulfilled") state.map.setEvents(events.value);
}

function onFeed(msg) {
  switch (msg?.topic) {
    case "positions":
      state.map.upsertPositions(msg.data);
      break;
    case "events":
      state.map.upsertEvents(msg.data);
      break;
    case "incidents":
      refreshIncidents();
      break;
    case "hotline":
      refreshHotline();
      break;
    default:
      break;
  }
}
const refreshIncidents = debounce(() => incidents.refresh(), 250);
const refreshHotline = debounce(() => hotline.refresh(), 250);

function setBadge(id, n) {
  const el = $(id);
  el.textContent = n ? String(n) : "";
  el.hidden = !n;
}

async function boot() {
  state.me = await api("/api/me");
  if (state.me.csrf) setCsrf(state.me.csrf);
  $("#user-name").textContent = `${state.me.user} (${state.me.role})`;
  $("#node-name").textContent = state.me.node_name ?? "";
  const party = $("#node-party");
  party.textContent = state.me.party ? t(PARTY_KEYS[state.me.party] ?? "party.other") : "";
  party.className = `party-chip party-${state.me.party}`;
  api("/api/health")
    .then((hl) => ($("#node-version").textContent = `v${hl.version}`))
    .catch(() => {});
  await loadPeer();
  try {
    state.templates = await api("/api/hotline/templates");
  } catch {
    state.templates = [];
  }
  const ctx = {
    me: () => state.me,
    peer: () => state.peer,
    templates: () => state.templates,
    focusMap: (lat, lon) => {
      selectTab("map");
      state.map.focus(lat, lon);
    },
    onCount: (n) => setBadge("#badge-incidents", n),
    onUnacked: (n) => setBadge("#badge-hotline", n),
  };
  if (!state.booted) {
    state.map = createMap($("#map"), $("#vessel-panel"), {
      onMove: (bbox) => state.feed?.setBbox(bbox),
      onIncident: () => selectTab("incidents"),
    });
    incidents = createIncidents($("#view-incidents"), ctx);
    hotline = createHotline($("#view-hotline"), ctx);
    state.booted = true;
  }
  hotline.renderCompose();
  await Promise.all([loadMapData(), incidents.refresh(), hotline.refresh()]);
  state.feed = liveFeed(onFeed, (s) => {
    const el = $("#live-state");
    el.textContent = t(s === "open" ? "live.connected" : "live.reconnecting");
    el.className = `live ${s}`;
  });
  state.feed.setBbox(state.map.bbox());
}

async function main() {
  await setLang(initialLang());
  const langSelect = $("#lang-select");
  langSelect.value = document.documentElement.lang.slice(0, 2);
  langSelect.addEventListener("change", () => setLang(langSelect.value));
  onLangChange(() => {
    drawLegend();
    tick();
    state.map?.relabel();
    incidents?.render();
    hotline?.render();
    if (state.me) {
      $("#node-party").textContent = t(PARTY_KEYS[state.me.party] ?? "party.other");
    }
  });
  setupTabs();
  selectTab(["map", "incidents", "hotline"].includes(location.hash.slice(1)) ? location.hash.slice(1) : "map");
  drawLegend();
  tick();
  setInterval(tick, 1000);
  $("#login-form").addEventListener("submit", onLogin);
  $("#login").addEventListener("cancel", (e) => e.preventDefault()); // login is not optional
  $("#logout").addEventListener("click", onLogout);
  window.addEventListener("sb:unauthorized", showLogin);
  applyI18n(document);
  try {
    await boot();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      console.error(err);
      $("#live-state").textContent = t("error.load", { detail: err.message });
    }
  }
}

// A read-only hook for browser tests (select a vessel, read the map state); no data in it.
window.seabridge = { map: () => state.map?.map, selectVessel: (mmsi) => state.map?.select(mmsi) };

main();
