// The public API (/api/v1), on this origin or on the one `?api=` names (through CORS), with
// the session's tokens: a 401 trades the refresh token once for a new pair and retries.

export const API = (new URLSearchParams(location.search).get("api") || "").replace(/\/$/, "") + "/api/v1";

export const tokens = {
  get access() { return sessionStorage.getItem("access"); },
  get refresh() { return sessionStorage.getItem("refresh"); },
  set(pair) {
    sessionStorage.setItem("access", pair.access_token);
    sessionStorage.setItem("refresh", pair.refresh_token);
  },
  clear() { sessionStorage.removeItem("access"); sessionStorage.removeItem("refresh"); },
};

/** An API error in the one envelope: `code`, `message`, `details`, the HTTP `status`. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || { code: "network_error", message: "The service could not be reached" };
    super(error.message);
    Object.assign(this, { status, code: error.code, details: error.details });
  }
}

/**
 * @typedef {object} Call
 * @property {string} [method] GET unless given
 * @property {unknown} [json] a body sent as JSON
 * @property {FormData | URLSearchParams} [form] a body sent as a form
 * @property {Record<string, string>} [headers]
 */

/**
 * The fetch behind `api`: the raw response once it is not a 401 that a refresh could cure.
 * @param {string} path
 * @param {Call} call
 * @returns {Promise<Response>}
 */
async function send(path, { method = "GET", json, form, headers: extra = {} }, retried = false) {
  /** @type {Record<string, string>} */
  const headers = { ...extra };
  const signedIn = Boolean(tokens.access);
  if (signedIn) headers.Authorization = `Bearer ${tokens.access}`;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  let response;
  try {
    response = await fetch(API + path, { method, headers, body });
  } catch {
    throw new ApiError(0, null);
  }
  if (response.status === 401 && tokens.refresh && !retried && path !== "/auth/refresh" && await refresh()) {
    return send(path, { method, json, form, headers: extra }, true);
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    if (response.status === 401 && signedIn) { tokens.clear(); location.hash = "#/signin"; }
    throw new ApiError(response.status, data);
  }
  return response;
}

/**
 * Call the API: `{status, data, headers}`, or an ApiError.
 * @param {string} path under /api/v1
 * @param {Call} [options]
 * @returns {Promise<{status: number, data: any, headers: Headers}>}
 */
export async function api(path, options = {}) {
  const response = await send(path, options);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { status: response.status, data, headers: response.headers };
}

/**
 * Every item of a paginated list, following `next_cursor`.
 * @param {string} path
 * @returns {Promise<any[]>}
 */
export async function all(path, limit = 100) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    const { data } = await api(`${path}${path.includes("?") ? "&" : "?"}${query}`);
    items.push(...data.items);
    cursor = data.next_cursor;
  } while (cursor);
  return items;
}

/**
 * POST and read the answer as Server-Sent Events, calling `onEvent(name, data)` for each
 * (data parsed from its JSON line) as it arrives.
 * @param {string} path
 * @param {unknown} json
 * @param {(name: string, data: any) => void} onEvent
 */
export async function stream(path, json, onEvent) {
  const response = await send(path, { method: "POST", json, headers: { Accept: "text/event-stream" } });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

async function refresh() {
  try {
    const { data } = await api("/auth/refresh", { method: "POST", json: { refresh_token: tokens.refresh } });
    tokens.set(data);
    return true;
  } catch {
    tokens.clear();
    return false;
  }
}

/** Sign out: this sign-in's refresh tokens are revoked (best effort), the tokens forgotten. */
export async function signOut() {
  if (tokens.refresh) await api("/auth/logout", { method: "POST", json: { refresh_token: tokens.refresh } }).catch(() => null);
  tokens.clear();
}

/** Sign in with email and password (the OAuth2 password form) and keep the tokens. */
export async function signIn(email, password) {
  const { data } = await api("/auth/token", { method: "POST", form: new URLSearchParams({ username: email, password }) });
  tokens.set(data);
}
