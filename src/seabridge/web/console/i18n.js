// UI strings in English, Japanese and Chinese (i18n/<lang>.json, flat `area.key` names) and
// time formatting (UTC and local side by side). Keys are always written out in full at the
// call site, t("incident.ack"), never built from pieces, so a test can check that each one
// exists in all three files.

export const LANGS = ["en", "ja", "zh"];
// BCP 47 tags for <html lang> (fonts pick Japanese or Simplified Chinese glyph forms from it).
const HTML_LANG = { en: "en", ja: "ja", zh: "zh-Hans" };
let lang = "en";
let strings = {};
let fallback = {};
const listeners = new Set();

async function load(code) {
  const r = await fetch(`i18n/${code}.json`, { credentials: "same-origin" });
  if (!r.ok) throw new Error(`i18n/${code}.json: HTTP ${r.status}`);
  return r.json();
}

export function initialLang() {
  const saved = localStorage.getItem("sb-lang");
  if (LANGS.includes(saved)) return saved;
  const nav = (navigator.language || "en").slice(0, 2);
  return LANGS.includes(nav) ? nav : "en";
}

export async function setLang(code) {
  if (!LANGS.includes(code)) code = "en";
  if (!Object.keys(fallback).length) fallback = await load("en");
  strings = code === "en" ? fallback : await load(code);
  lang = code;
  localStorage.setItem("sb-lang", code);
  document.documentElement.lang = HTML_LANG[code];
  applyI18n(document);
  for (const fn of listeners) fn(code);
}

export const currentLang = () => lang;
export const onLangChange = (fn) => listeners.add(fn);

/** The string for key in the current language, with {name} placeholders filled from params. */
export function t(key, params = {}) {
  const s = strings[key] ?? fallback[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** Fill data-i18n (text), data-i18n-label (aria-label), -title and -placeholder under root. */
export function applyI18n(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-11-28 11:45:03Z" from an ISO time. */
export function utcText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
  );
}

/** Local time in the operator's time zone, in the UI language's conventions. */
export function localText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return new Intl.DateTimeFormat(HTML_LANG[lang], {
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
    timeZoneName: "short",
  }).format(d);
}

/** A <time> element showing UTC and local time side by side. */
export function timeEl(iso) {
  const el = document.createElement("time");
  el.className = "dual-time";
  if (!iso) {
    el.textContent = "—";
    return el;
  }
  el.dateTime = iso;
  const utc = document.createElement("span");
  utc.className = "utc";
  utc.textContent = utcText(iso);
  const local = document.createElement("span");
  local.className = "local";
  local.textContent = `${t("time.local")} ${localText(iso)}`;
  el.append(utc, local);
  return el;
}

/** Number formatting in the UI language; "—" for missing values. */
export function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return "—";
  return new Intl.NumberFormat(HTML_LANG[lang], { maximumFractionDigits: digits }).format(v);
}
