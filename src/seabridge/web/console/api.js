// The console's only door to the node: JSON over fetch to /api on the page's own origin, the
// CSRF header on unsafe requests, and the live websocket. A 401 from any call raises the
// "sb:unauthorized" event, which shows the login form.

let csrf = null;
export const setCsrf = (token) => {
  csrf = token ?? null;
};

export class ApiError extends Error {
  constructor(status, detail, retryAfterS) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.retryAfterS = retryAfterS;
  }
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE.has(method) && csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  if (r.status === 401 && path !== "/api/login") {
    window.dispatchEvent(new CustomEvent("sb:unauthorized"));
  }
  if (!r.ok) {
    let detail = "";
    try {
      const j = await r.json();
      detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail ?? j);
    } catch {
      detail = r.statusText;
    }
    const retry = Number(r.headers.get("Retry-After"));
    throw new ApiError(r.status, detail, Number.isFinite(retry) ? retry : undefined);
  }
  if (r.status === 204) return null;
  const type = r.headers.get("Content-Type") || "";
  return type.includes("json") ? r.json() : r.text();
}

export const post = (path, body = {}) => api(path, { method: "POST", body });

/** The party that wrote a hotline log: "jcg/hotline/ccg" (the API's origins) -> "jcg". */
export const authorOf = (origin) => String(origin ?? "").split("/")[0];

/**
 * The live feed: calls onMessage({topic, data}) for each message, reconnects with backoff,
 * and re-sends the latest bbox after each reconnect. Returns {setBbox, close}.
 */
export function liveFeed(onMessage, onState) {
  let ws = null;
  let bbox = null;
  let closed = false;
  let delayMs = 1000;
  const url = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const q = bbox ? `?bbox=${bbox.map((v) => v.toFixed(4)).join(",")}` : "";
    return `${scheme}://${location.host}/api/ws${q}`;
  };
  const connect = () => {
    if (closed) return;
    ws = new WebSocket(url());
    ws.onopen = () => {
      delayMs = 1000;
      onState?.("open");
    };
    ws.onmessage = (ev) => {
      try {
        onMessage(JSON.parse(ev.data));
      } catch (err) {
        console.warn("live feed: bad message", err);
      }
    };
    ws.onclose = () => {
      onState?.("closed");
      if (closed) return;
      setTimeout(connect, delayMs);
      delayMs = Math.min(delayMs * 2, 30000);
    };
  };
  connect();
  return {
    setBbox(b) {
      bbox = b;
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ bbox: b }));
    },
    close() {
      closed = true;
      ws?.close();
    },
  };
}
