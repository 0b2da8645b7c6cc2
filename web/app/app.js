// The Chatsight web app: plain ES modules, no build step, served at /app by the API. It uses
// only the public API (/api/v1), on this origin or on the one `?api=` names (CORS).
// Pages (hash routes): #/signin, #/register, #/chats, #/chats/<id>, #/credits.

const API = (new URLSearchParams(location.search).get("api") || "").replace(/\/$/, "") + "/api/v1";
const view = document.getElementById("view");
const tokens = {
  get access() { return sessionStorage.getItem("access"); },
  get refresh() { return sessionStorage.getItem("refresh"); },
  set(pair) {
    sessionStorage.setItem("access", pair.access_token);
    sessionStorage.setItem("refresh", pair.refresh_token);
  },
  clear() { sessionStorage.removeItem("access"); sessionStorage.removeItem("refresh"); },
};

/** An API error in the one envelope: `code`, `message`, `details`, the HTTP `status`. */
class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || { code: "network_error", message: "The service could not be reached" };
    super(error.message);
    Object.assign(this, { status, code: error.code, details: error.details });
  }
}

/** Call the API; on a 401 with a refresh token, trade it once for a new pair and retry. */
async function api(path, { method = "GET", json, form, headers: extra = {}, retried = false } = {}) {
  const headers = { ...extra };
  if (tokens.access) headers.Authorization = `Bearer ${tokens.access}`;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  let response;
  try {
    response = await fetch(API + path, { method, headers, body });
  } catch {
    throw new ApiError(0, null);
  }
  if (response.status === 401 && tokens.refresh && !retried && path !== "/auth/refresh") {
    if (await refresh()) return api(path, { method, json, form, headers: extra, retried: true });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) { tokens.clear(); location.hash = "#/signin"; }
    throw new ApiError(response.status, data);
  }
  return { status: response.status, data, headers: response.headers };
}

async function refresh() {
  try {
    const { data } = await api("/auth/refresh", { method: "POST", json: { refresh_token: tokens.refresh }, retried: true });
    tokens.set(data);
    return true;
  } catch {
    tokens.clear();
    return false;
  }
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

function show(...nodes) { view.replaceChildren(...nodes); }
function errorLine(error) { return h("p", { class: "error", role: "alert" }, error.message); }

// ---- signing in ------------------------------------------------------------------------

function authPage(kind) {
  const registering = kind === "register";
  const status = h("div");
  const form = h("form", { class: "card", "aria-label": registering ? "Register" : "Sign in" },
    h("h1", {}, registering ? "Create an account" : "Sign in"),
    registering ? h("label", {}, "Name", h("input", { name: "display_name", required: true, autocomplete: "name" })) : null,
    h("label", {}, "Email", h("input", { name: "email", type: "email", required: true, autocomplete: "email" })),
    h("label", {}, "Password", h("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: registering ? "new-password" : "current-password" })),
    h("button", { type: "submit" }, registering ? "Register" : "Sign in"),
    status,
    h("p", {}, registering ? h("a", { href: "#/signin" }, "I have an account") : h("a", { href: "#/register" }, "Create an account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    try {
      if (registering) await api("/auth/register", { method: "POST", json: values });
      const login = new URLSearchParams({ username: values.email, password: values.password });
      const response = await fetch(API + "/auth/token", { method: "POST", body: login });
      const data = await response.json();
      if (!response.ok) throw new ApiError(response.status, data);
      tokens.set(data);
      location.hash = "#/chats";
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  });
  show(form);
}

// ---- chats -------------------------------------------------------------------------------

async function chatsPage() {
  const list = h("ul", { class: "chats", "aria-label": "Your chats" });
  const status = h("div");
  const order = h("select", { name: "date_order", "aria-label": "Date order" },
    h("option", { value: "" }, "Date order: as the file says"),
    ...["dmy", "mdy", "ymd", "ydm"].map((value) => h("option", { value }, value)));
  const input = h("input", { type: "file", id: "export-file", accept: ".txt,.zip,.json,.csv" });
  const drop = h("div", { class: "drop", tabindex: 0, role: "region", "aria-label": "Drop an export here" },
    h("p", {}, "Drop a WhatsApp, Telegram, Signal, Instagram, JSON or CSV export here, or "),
    h("label", {}, "choose a file", input), order);
  const upload = async (file) => {
    const form = new FormData();
    form.append("file", file);
    if (order.value) form.append("date_order", order.value);
    status.replaceChildren(h("p", {}, `Uploading ${file.name}…`));
    try {
      const { status: code, data, headers } = await api("/chats/import", { method: "POST", form });
      const replayed = headers.get("Idempotent-Replayed") === "true";
      status.replaceChildren(h("p", {}, replayed ? `${data.title} was imported before.` : `${data.title} imported.`));
      if (code === 202) await follow(data.id, status);
      await loadChats(list);
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  };
  input.addEventListener("change", () => input.files[0] && upload(input.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) upload(event.dataTransfer.files[0]);
  });
  show(h("h1", {}, "Your chats"), drop, status, list);
  await loadChats(list);
}

/** A queued import: its progress until it is ready or failed. */
async function follow(chatId, status) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Import progress" });
  status.replaceChildren(h("p", {}, "Importing…"), bar);
  for (;;) {
    const { data } = await api(`/chats/${chatId}`);
    bar.value = data.import_progress || 0;
    if (data.status === "ready") { status.replaceChildren(h("p", {}, `${data.title} imported.`)); return; }
    if (data.status === "failed") { status.replaceChildren(h("p", { class: "error", role: "alert" }, data.error || "The import failed")); return; }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function loadChats(list) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) });
    const { data } = await api(`/chats?${query}`);
    items.push(...data.items);
    cursor = data.next_cursor;
  } while (cursor);
  list.replaceChildren(...(items.length ? items.map((chat) => h("li", {},
    h("a", { href: `#/chats/${chat.id}` }, chat.title),
    h("span", { class: "muted" }, ` — ${chat.message_count} messages, ${chat.status}`))) : [h("li", { class: "muted" }, "No chats yet.")]));
}

// ---- one chat's messages -------------------------------------------------------------------

async function chatPage(chatId) {
  const { data: chat } = await api(`/chats/${chatId}`);
  const list = h("ol", { class: "messages", "aria-label": "Messages" });
  const search = h("input", { type: "search", name: "q", placeholder: "Search messages", "aria-label": "Search messages" });
  const sender = h("select", { name: "sender", "aria-label": "Sender" }, h("option", { value: "" }, "Everyone"),
    ...(chat.participants || []).map((name) => h("option", { value: name }, name)));
  const more = h("p", { class: "muted" });
  let cursor = null;
  let loading = false;
  let generation = 0; // a new search or filter starts a new generation; older pages are dropped
  const load = async (reset) => {
    if (reset) { generation += 1; cursor = null; list.replaceChildren(); } else if (loading) return;
    const mine = generation;
    loading = true;
    const query = new URLSearchParams({ limit: "50" });
    if (cursor) query.set("cursor", cursor);
    if (search.value) query.set("q", search.value);
    if (sender.value) query.set("sender", sender.value);
    try {
      const { data } = await api(`/chats/${chatId}/messages?${query}`);
      if (mine !== generation) return;
      list.append(...data.items.map((message) => h("li", { id: `m${message.seq}` },
        h("span", { class: "sender" }, message.sender || "—"),
        h("time", { class: "time", datetime: message.sent_at }, new Date(message.sent_at).toLocaleString()),
        h("div", {}, message.text))));
      cursor = data.next_cursor;
      more.textContent = cursor ? "Scroll for more" : list.children.length ? "" : "No messages.";
    } catch (error) {
      if (mine === generation) more.replaceChildren(errorLine(error));
    } finally {
      if (mine === generation) loading = false;
    }
  };
  let typing;
  search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => load(true), 300); });
  sender.addEventListener("change", () => load(true));
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting) && cursor) load(false);
  }).observe(more);
  show(h("h1", {}, chat.title), h("p", { class: "muted" }, `${chat.message_count} messages`),
    h("div", { class: "toolbar" }, search, sender), list, more);
  await load(true);
}

// ---- credits -------------------------------------------------------------------------------

const KINDS = {
  signup: "Welcome credits", purchase: "Purchase", insight_charge: "Insight",
  insight_refund: "Insight refund", admin_grant: "Granted", purchase_refund: "Purchase refunded",
};

async function creditsPage() {
  const balance = h("p", { class: "balance", "aria-live": "polite" });
  const ledger = h("ol", { class: "messages", "aria-label": "Ledger" });
  const status = h("div");
  const money = (cents, currency) =>
    new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(cents / 100);
  const reload = async () => {
    const [{ data: current }, { data: page }] = await Promise.all([
      api("/credits/balance"), api("/credits/transactions?limit=50"),
    ]);
    balance.textContent = `Balance: ${current.balance} credits`;
    ledger.replaceChildren(...page.items.map((entry) => h("li", {},
      h("span", { class: "sender" }, `${entry.amount > 0 ? "+" : ""}${entry.amount}`),
      h("span", {}, ` ${KINDS[entry.kind] || entry.kind}`),
      h("time", { class: "time", datetime: entry.created_at }, new Date(entry.created_at).toLocaleString()),
      h("span", { class: "muted" }, ` → ${entry.balance_after}`))));
  };
  const buy = async (name) => {
    status.replaceChildren(h("p", {}, "Paying…"));
    try {
      const { data: payment } = await api("/payments", {
        method: "POST", json: { package: name }, headers: { "Idempotency-Key": crypto.randomUUID() },
      });
      if (payment.provider !== "fake") { location.href = payment.checkout_url; return; }
      // The fake provider: pay the checkout as its webhook would (development and demos).
      await api(`/payments/${payment.id}/fake-complete`, { method: "POST" });
      status.replaceChildren(h("p", {}, `${payment.credits} credits added.`));
      await reload();
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  };
  const { data: packages } = await api("/payments/packages");
  const offers = h("div", { class: "toolbar" }, ...packages.map((offer) =>
    h("button", { type: "button", onclick: () => buy(offer.name) },
      `Buy ${offer.credits} credits for ${money(offer.amount_cents, offer.currency)}`)));
  show(h("h1", {}, "Credits"), balance, offers, status, h("h2", {}, "Ledger"), ledger);
  await reload();
}

// ---- routing ---------------------------------------------------------------------------------

async function route() {
  const path = location.hash.slice(1) || "/chats";
  const signedIn = Boolean(tokens.access);
  document.getElementById("nav").hidden = !signedIn;
  if (!signedIn && path !== "/register") return authPage("signin");
  if (path === "/register" || path === "/signin") return signedIn ? (location.hash = "#/chats") : authPage(path.slice(1));
  try {
    const chat = path.match(/^\/chats\/([0-9a-f-]{36})$/);
    if (chat) return await chatPage(chat[1]);
    if (path === "/credits") return await creditsPage();
    return await chatsPage();
  } catch (error) {
    show(errorLine(error));
  }
}

document.getElementById("sign-out").addEventListener("click", () => { tokens.clear(); location.hash = "#/signin"; });
window.addEventListener("hashchange", route);
route();
