// The map: an offline basemap (Natural Earth land on a plain sea), the pack's zones and
// features, vessels as heading-oriented symbols, trails, events, and the vessel panel.
// Everything is drawn from the page's own origin: the style is built here, no tiles, no
// glyphs or sprites (labels are HTML markers, so they use the console's own CJK fonts).
import * as maplibregl from "./vendor/maplibre-gl/maplibre-gl.mjs";
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { currentLang, num, t, timeEl } from "./i18n.js";
import {
  LEVEL_COLOURS,
  PARTY_COLOURS,
  PARTY_KEYS,
  SHAPES,
  SHAPE_KEYS,
  directionOf,
  partyOf,
  shapeOf,
  symbolImage,
} from "./symbols.js";

const TRAIL_POINTS = 40; // positions kept per vessel for the live trail
const EVENT_HOURS = 24;
const ZONE_STYLE = {
  territorial_sea_belt: { fill: "#0284c7", opacity: 0.1, line: "#0369a1", dash: [1] },
  contiguous_zone_belt: { fill: "#38bdf8", opacity: 0.05, line: "#0369a1", dash: [3, 2] },
  baseline: { fill: "#64748b", opacity: 0.08, line: "#334155", dash: [4, 2] },
  joint_development_zone: { fill: "#15803d", opacity: 0.1, line: "#166534", dash: [1] },
  safety_zone: { fill: "#d97706", opacity: 0.2, line: "#b45309", dash: [1] },
  area_of_interest: { fill: "#000000", opacity: 0, line: "#94a3b8", dash: [1, 3] },
};
const DEFAULT_ZONE = { fill: "#7c3aed", opacity: 0.06, line: "#6d28d9", dash: [2, 2] };

const empty = () => ({ type: "FeatureCollection", features: [] });
const matchExpr = (prop, table, fallback) => [
  "match",
  ["get", prop],
  ...Object.entries(table).flatMap(([k, v]) => [isNaN(Number(k)) ? k : Number(k), v]),
  fallback,
];
const absolute = (rel) => new URL(rel, document.baseURI).href;

/** All names of a disputed feature, always, in a fixed order; otherwise the chosen language. */
export function featureLabel(p, lang) {
  const names = p.names ?? {};
  if (p.disputed) {
    const all = [];
    for (const code of ["en", "ja", "zh"]) {
      for (const part of String(names[code] ?? "").split(" / ")) {
        if (part && !all.includes(part)) all.push(part);
      }
    }
    return all.length ? all.join(" / ") : p.name;
  }
  return names[lang] ?? p.name ?? p.id;
}

function baseStyle() {
  return {
    version: 8,
    sources: { land: { type: "geojson", data: absolute("vendor/land/land.geojson") } },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#dbe7f0" } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": "#f4f1ea" } },
      {
        id: "coast",
        type: "line",
        source: "land",
        paint: { "line-color": "#8a8f98", "line-width": 0.6 },
      },
    ],
  };
}

function zoneExpr(key) {
  const table = Object.fromEntries(Object.entries(ZONE_STYLE).map(([k, v]) => [k, v[key]]));
  return matchExpr("zone_kind", table, DEFAULT_ZONE[key]);
}

function addLayers(map) {
  for (const id of ["zones", "vessels", "trails", "track", "events"]) {
    map.addSource(id, { type: "geojson", data: empty() });
  }
  const ratio = Math.max(2, Math.ceil(window.devicePixelRatio || 1));
  for (const shape of SHAPES) {
    for (const party of Object.keys(PARTY_COLOURS)) {
      map.addImage(`${shape}-${party}`, symbolImage(shape, party, ratio), { pixelRatio: ratio });
    }
  }
  const isPolygon = ["==", ["get", "kind"], "zone"];
  map.addLayer({
    id: "zone-fill",
    type: "fill",
    source: "zones",
    filter: isPolygon,
    paint: { "fill-color": zoneExpr("fill"), "fill-opacity": zoneExpr("opacity") },
  });
  // Dash patterns cannot be data-driven: one line layer per dash style.
  const dashes = new Map();
  for (const [kind, s] of Object.entries(ZONE_STYLE)) {
    dashes.set(JSON.stringify(s.dash), [...(dashes.get(JSON.stringify(s.dash)) ?? []), kind]);
  }
  const known = Object.keys(ZONE_STYLE);
  for (const [i, [dash, kinds]] of [...dashes.entries()].entries()) {
    const filter =
      i === 0
        ? ["all", isPolygon, ["any", ["in", ["get", "zone_kind"], ["literal", kinds]],
            ["!", ["in", ["get", "zone_kind"], ["literal", known]]]]]
        : ["all", isPolygon, ["in", ["get", "zone_kind"], ["literal", kinds]]];
    map.addLayer({
      id: `zone-line-${i}`,
      type: "line",
      source: "zones",
      filter,
      paint: {
        "line-color": zoneExpr("line"),
        "line-width": 1.2,
        "line-dasharray": JSON.parse(dash),
      },
    });
  }
  map.addLayer({
    id: "feature-point",
    type: "circle",
    source: "zones",
    filter: ["==", ["get", "kind"], "feature"],
    paint: {
      "circle-radius": 3.5,
      "circle-color": "#3f3f46",
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 1,
    },
  });
  map.addLayer({
    id: "trails",
    type: "line",
    source: "trails",
    paint: {
      "line-color": matchExpr("party", PARTY_COLOURS, PARTY_COLOURS.other),
      "line-width": 1.5,
      "line-opacity": 0.55,
    },
  });
  map.addLayer({
    id: "track",
    type: "line",
    source: "track",
    paint: {
      "line-color": matchExpr("party", PARTY_COLOURS, PARTY_COLOURS.other),
      "line-width": 3,
      "line-opacity": 0.85,
    },
  });
  const levelColour = matchExpr("level", LEVEL_COLOURS, "#475569");
  map.addLayer({
    id: "event-pulse",
    type: "circle",
    source: "events",
    filter: ["in", ["get", "status"], ["literal", ["open", "update"]]],
    paint: {
      "circle-radius": 12,
      "circle-color": "rgba(0,0,0,0)",
      "circle-stroke-color": levelColour,
      "circle-stroke-width": 2.5,
      "circle-stroke-opacity": 0.9,
    },
  });
  map.addLayer({
    id: "event-dot",
    type: "circle",
    source: "events",
    paint: {
      "circle-radius": ["case", ["in", ["get", "status"], ["literal", ["open", "update"]]], 5, 3],
      "circle-color": levelColour,
      "circle-opacity": ["case", ["in", ["get", "status"], ["literal", ["open", "update"]]], 1, 0.45],
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 1,
    },
  });
  map.addLayer({
    id: "vessel-alert",
    type: "circle",
    source: "vessels",
    filter: [">", ["get", "alert_level"], 0],
    paint: {
      "circle-radius": 13,
      "circle-color": "rgba(0,0,0,0)",
      "circle-stroke-color": matchExpr("alert_level", LEVEL_COLOURS, "#475569"),
      "circle-stroke-width": 2,
    },
  });
  map.addLayer({
    id: "vessel-selected",
    type: "circle",
    source: "vessels",
    filter: ["==", ["get", "mmsi"], -1],
    paint: {
      "circle-radius": 16,
      "circle-color": "rgba(0,0,0,0)",
      "circle-stroke-color": "#0b1220",
      "circle-stroke-width": 2,
      "circle-stroke-opacity": 0.9,
    },
  });
  map.addLayer({
    id: "vessels",
    type: "symbol",
    source: "vessels",
    layout: {
      "icon-image": ["concat", ["get", "shape"], "-", ["get", "party_class"]],
      "icon-rotate": ["get", "rot"],
      "icon-rotation-alignment": "map",
      "icon-allow-overlap": true,
      "icon-ignore-placement": true,
      "icon-size": ["interpolate", ["linear"], ["zoom"], 4, 0.7, 9, 1.1],
    },
  });
}

function vesselFeature(f, alerts) {
  const p = f.properties ?? {};
  const dir = directionOf(p);
  return {
    type: "Feature",
    geometry: f.geometry,
    properties: {
      ...p,
      party_class: partyOf(p.party),
      shape: dir === null ? "still" : shapeOf(p.ship_type),
      rot: dir ?? 0,
      alert_level: alerts.get(Number(p.mmsi)) ?? 0,
    },
  };
}

/** Create the map in container; returns the map controller the app drives. */
export function createMap(container, panel, { onMove, onIncident } = {}) {
  const vessels = new Map(); // mmsi -> GeoJSON feature (/api/vessels, then the live feed)
  const trails = new Map(); // mmsi -> [[lon, lat], ...]
  const events = new Map(); // id -> event
  let zones = empty();
  let labelMarkers = [];
  let selected = null;
  let ready = false;

  const map = new maplibregl.Map({
    container,
    style: baseStyle(),
    center: [125.0, 28.0],
    zoom: 5,
    minZoom: 2,
    maxZoom: 14,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-left");
  map.keyboard.enable();

  const alerts = () => {
    const out = new Map();
    for (const e of events.values()) {
      if (e.status !== "open" && e.status !== "update") continue;
      for (const m of e.vessels ?? []) out.set(Number(m), Math.max(out.get(Number(m)) ?? 0, e.level));
    }
    return out;
  };

  function refreshVessels() {
    if (!ready) return;
    const a = alerts();
    const features = [...vessels.values()].map((f) => vesselFeature(f, a));
    map.getSource("vessels").setData({ type: "FeatureCollection", features });
    const lines = [];
    for (const [mmsi, coords] of trails) {
      if (coords.length < 2) continue;
      const party = partyOf(vessels.get(mmsi)?.properties?.party);
      lines.push({
        type: "Feature",
        geometry: { type: "LineString", coordinates: coords },
        properties: { mmsi, party },
      });
    }
    map.getSource("trails").setData({ type: "FeatureCollection", features: lines });
    if (selected !== null) renderPanel();
  }

  function refreshEvents() {
    if (!ready) return;
    const features = [...events.values()]
      .filter((e) => Number.isFinite(e.lat) && Number.isFinite(e.lon))
      .map((e) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [e.lon, e.lat] },
        properties: { id: e.id, level: e.level, status: e.status, kind: e.kind },
      }));
    map.getSource("events").setData({ type: "FeatureCollection", features });
    refreshVessels();
  }

  function upsertPositions(fc) {
    const features = Array.isArray(fc) ? fc : (fc?.features ?? []);
    for (const f of features) {
      const mmsi = Number(f.properties?.mmsi);
      if (!Number.isFinite(mmsi) || !f.geometry) continue;
      const prev = vessels.get(mmsi);
      // A live update has the properties of an /api/vessels feature (the node adds the
      // name, ship type, flag and party it knows); a null never erases what is known.
      const known = Object.fromEntries(Object.entries(f.properties ?? {}).filter(([, v]) => v !== null && v !== undefined));
      vessels.set(mmsi, prev ? { ...f, properties: { ...prev.properties, ...known } } : f);
      const trail = trails.get(mmsi) ?? [];
      const c = f.geometry.coordinates;
      const last = trail[trail.length - 1];
      if (!last || last[0] !== c[0] || last[1] !== c[1]) trail.push(c);
      if (trail.length > TRAIL_POINTS) trail.splice(0, trail.length - TRAIL_POINTS);
      trails.set(mmsi, trail);
    }
    refreshVessels();
  }

  function relabel() {
    for (const m of labelMarkers) m.remove();
    labelMarkers = [];
    const lang = currentLang();
    for (const f of zones.features) {
      const p = f.properties ?? {};
      let lngLat;
      let anchor;
      let text;
      if (p.kind === "feature") {
        lngLat = f.geometry.coordinates;
        anchor = "left";
        text = featureLabel(p, lang);
      } else {
        const b = bounds(f.geometry);
        if (!b) continue;
        lngLat = [(b[0] + b[2]) / 2, b[3]];
        anchor = "top";
        text = p.names?.[lang] ?? p.name ?? p.id;
      }
      const el = h(
        "div",
        {
          class: `map-label ${p.kind === "feature" ? "feature-label" : "zone-label"}${p.disputed ? " disputed" : ""}`,
          title: p.kind === "zone" ? `${text}\n${t("zone.declared_by")}: ${p.declared_by ?? "—"}` : text,
        },
        text,
      );
      const marker = new maplibregl.Marker({ element: el, anchor, offset: p.kind === "feature" ? [6, 0] : [0, 4] })
        .setLngLat(lngLat)
        .addTo(map);
      marker.priority = p.kind === "feature" ? (p.disputed ? 0 : 1) : 2 + (p.zone_kind === "area_of_interest");
      labelMarkers.push(marker);
    }
    labelMarkers.sort((a, b) => a.priority - b.priority);
    declutter();
  }

  // Labels never shorten a name (a disputed feature keeps all of its names): where two labels
  // would overlap, the one placed later is hidden until the operator zooms in.
  function declutter() {
    const placed = [];
    for (const m of labelMarkers) {
      const el = m.getElement();
      el.classList.remove("hidden-label");
      const r = el.getBoundingClientRect();
      const hit = placed.some((q) => r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom);
      if (hit) el.classList.add("hidden-label");
      else placed.push(r);
    }
  }

  function renderPanel() {
    clear(panel);
    const f = vessels.get(selected);
    if (!f) {
      panel.hidden = true;
      return;
    }
    const p = f.properties;
    const party = partyOf(p.party);
    const related = [...events.values()]
      .filter((e) => (e.vessels ?? []).map(Number).includes(selected))
      .sort((a, b) => String(b.start).localeCompare(String(a.start)))
      .slice(0, 10);
    const row = (key, value) => [h("dt", {}, t(key)), h("dd", {}, value)];
    panel.hidden = false;
    panel.append(
      h(
        "div",
        { class: "panel-head" },
        h("h2", { id: "vessel-title" }, p.name || t("vessel.unnamed")),
        h(
          "button",
          { type: "button", class: "icon-button", "aria-label": t("action.close"), onclick: () => select(null) },
          "×",
        ),
      ),
      h("p", { class: `party-chip party-${party}` }, t(PARTY_KEYS[party])),
      h(
        "dl",
        { class: "facts" },
        row("vessel.mmsi", String(p.mmsi)),
        row("vessel.flag", p.flag ?? "—"),
        row("vessel.ship_type", `${t(SHAPE_KEYS[shapeOf(p.ship_type)])} (${p.ship_type ?? "—"})`),
        row("vessel.sog", `${num(p.sog_kn)} kn`),
        row("vessel.cog", `${num(p.cog_deg, 0)}°`),
        row("vessel.heading", `${num(p.heading_deg, 0)}°`),
        row("vessel.nav_status", p.nav_status ?? "—"),
        row("vessel.position", `${f.geometry.coordinates[1].toFixed(4)}, ${f.geometry.coordinates[0].toFixed(4)}`),
        row("vessel.last_report", timeEl(p.ts)),
      ),
      h("h3", {}, t("vessel.recent_events")),
      related.length
        ? h(
            "ul",
            { class: "event-list" },
            related.map((e) =>
              h(
                "li",
                {},
                h("span", { class: `level-badge level-${e.level}` }, t("level.short"), " ", e.level),
                " ",
                h("strong", {}, e.kind),
                " · ",
                e.rule_id,
                " · ",
                timeEl(e.start),
              ),
            ),
          )
        : h("p", { class: "muted" }, t("vessel.no_events")),
    );
  }

  async function loadTrack(mmsi) {
    // No window: the node answers the last 48 h before its own clock, which is the data's
    // time (a replay runs ahead of this browser's clock; a live feed lags it).
    const q = new URLSearchParams({ mmsi: String(mmsi) });
    try {
      const fc = await api(`/api/tracks?${q}`);
      const party = partyOf(vessels.get(mmsi)?.properties?.party);
      for (const f of fc.features ?? []) f.properties = { ...f.properties, party };
      if (selected === mmsi) map.getSource("track").setData(fc);
    } catch (err) {
      console.warn("track", err);
    }
  }

  function select(mmsi) {
    selected = mmsi;
    map.setFilter("vessel-selected", ["==", ["get", "mmsi"], mmsi ?? -1]);
    map.getSource("track").setData(empty());
    if (mmsi === null) {
      panel.hidden = true;
      clear(panel);
      return;
    }
    renderPanel();
    loadTrack(mmsi);
    panel.querySelector("h2")?.focus?.();
  }

  function bbox() {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
  }

  async function loadVessels() {
    try {
      upsertPositions(await api(`/api/vessels?bbox=${bbox().map((v) => v.toFixed(4)).join(",")}`));
    } catch (err) {
      console.warn("vessels", err);
    }
  }

  let moveTimer = null;
  map.on("moveend", () => {
    declutter();
    clearTimeout(moveTimer);
    moveTimer = setTimeout(() => {
      loadVessels();
      onMove?.(bbox());
    }, 300);
  });

  map.on("click", "vessels", (e) => {
    const mmsi = Number(e.features?.[0]?.properties?.mmsi);
    if (Number.isFinite(mmsi)) select(mmsi);
  });
  map.on("click", "event-dot", (e) => {
    const id = e.features?.[0]?.properties?.id;
    const ev = events.get(id);
    if (ev && onIncident) onIncident(ev);
  });
  map.on("click", "zone-fill", (e) => {
    if (map.queryRenderedFeatures(e.point, { layers: ["vessels", "event-dot"] }).length) return;
    const p = e.features?.[0]?.properties;
    if (!p) return;
    const names = typeof p.names === "string" ? JSON.parse(p.names) : (p.names ?? {});
    new maplibregl.Popup({ maxWidth: "320px" })
      .setLngLat(e.lngLat)
      .setDOMContent(
        h(
          "div",
          { class: "zone-popup" },
          h("strong", {}, names[currentLang()] ?? p.name),
          h("p", {}, t("zone.declared_by"), ": ", p.declared_by ?? "—"),
          p.note ? h("p", { class: "muted" }, p.note) : null,
          h("p", { class: "muted" }, t("zone.no_sovereignty")),
        ),
      )
      .addTo(map);
  });
  for (const layer of ["vessels", "event-dot"]) {
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }

  // Open events pulse; with reduced motion they keep a steady ring.
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let lastFrame = 0;
  function pulse(now) {
    if (ready && now - lastFrame > 60) {
      lastFrame = now;
      const phase = (now % 1600) / 1600;
      map.setPaintProperty("event-pulse", "circle-radius", 8 + 14 * phase);
      map.setPaintProperty("event-pulse", "circle-stroke-opacity", 0.95 * (1 - phase));
    }
    requestAnimationFrame(pulse);
  }

  map.on("load", async () => {
    addLayers(map);
    ready = true;
    if (!still) requestAnimationFrame(pulse);
    map.getSource("zones").setData(zones);
    refreshEvents();
    loadVessels();
    onMove?.(bbox());
  });

  return {
    map,
    bbox,
    setZones(fc) {
      zones = fc ?? empty();
      if (ready) map.getSource("zones").setData(zones);
      relabel();
      const aoi = zones.features.find((f) => f.properties?.zone_kind === "area_of_interest");
      const b = aoi && bounds(aoi.geometry);
      if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
    },
    upsertPositions,
    setEvents(list) {
      events.clear();
      for (const e of list ?? []) events.set(e.id, e);
      refreshEvents();
    },
    upsertEvents(list) {
      for (const e of Array.isArray(list) ? list : [list]) if (e?.id) events.set(e.id, e);
      refreshEvents();
    },
    events: () => [...events.values()],
    select,
    focus(lat, lon, zoom = 8) {
      map.easeTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), zoom) });
    },
    relabel() {
      relabel();
      if (selected !== null) renderPanel();
    },
    eventHours: EVENT_HOURS,
  };
}

function bounds(geometry) {
  let b = null;
  const walk = (c) => {
    if (typeof c[0] === "number") {
      b = b
        ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])]
        : [c[0], c[1], c[0], c[1]];
    } else c.forEach(walk);
  };
  if (geometry?.coordinates) walk(geometry.coordinates);
  return b;
}
