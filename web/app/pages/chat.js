// One chat's messages: infinite scroll, search, sender and date filters; a message opened in
// its context (from a summary or a citation); merging a newer export.

import { api } from "../lib/api.js";
import { dayStart, h, errorLine, messageItem, number, show } from "../lib/dom.js";
import { mergeZone } from "./chats.js";

/** @typedef {import("../lib/dom.js").Schemas} Schemas */

const PAGE = 50;
const CONTEXT = 5; // messages shown before the one opened

/** The chat's tabs: its messages and its insights. */
/** @param {Schemas["ChatRead"]} chat */
export function chatTabs(chat, current) {
  const tab = (href, label, name) => h("a", { href, class: "tab", "aria-current": current === name ? "page" : false }, label);
  return h("nav", { class: "tabs", "aria-label": "Chat" },
    tab(`#/chats/${chat.id}`, "Messages", "messages"),
    tab(`#/chats/${chat.id}/insights`, "Insights", "insights"));
}

/**
 * The chat's title, with a button that turns it into a form to rename the chat.
 * @param {Schemas["ChatRead"]} chat
 */
function renameable(chat) {
  const heading = h("h1", {}, chat.title);
  const status = h("div", { "aria-live": "polite" });
  const input = h("input", { name: "title", required: true, maxlength: 200, value: chat.title, "aria-label": "New title" });
  const form = h("form", { class: "toolbar", hidden: true, "aria-label": "Rename the chat" }, input,
    h("button", { type: "submit" }, "Save"),
    h("button", { type: "button", class: "secondary", onclick: () => { form.hidden = true; } }, "Cancel"));
  const open = h("button", { type: "button", class: "secondary small", onclick: () => { form.hidden = false; input.focus(); } }, "Rename");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { data } = await api(`/chats/${chat.id}`, { method: "PATCH", json: { title: input.value } });
      heading.textContent = data.title;
      document.title = `${data.title} · Chatsight`;
      form.hidden = true;
      status.replaceChildren();
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  });
  return h("div", { class: "title" }, h("div", { class: "heading" }, heading, open), form, status);
}

/**
 * The message view. `at` is a message's `seq` to open in its context (it is highlighted and
 * scrolled to); `messageId` a message's id (a citation's) to look up and open the same way.
 */
export async function chatPage(chatId, { at = null, messageId = null } = {}) {
  /** @type {{data: Schemas["ChatRead"]}} */
  const { data: chat } = await api(`/chats/${chatId}`);
  if (messageId !== null) at = (await api(`/chats/${chatId}/messages/${messageId}`)).data.seq;
  const list = h("ol", { class: "messages", "aria-label": "Messages" });
  const search = h("input", { type: "search", name: "q", placeholder: "Search messages", "aria-label": "Search messages" });
  const sender = h("select", { name: "sender", "aria-label": "Sender" }, h("option", { value: "" }, "Everyone"),
    ...chat.participants.map((name) => h("option", { value: name }, name)));
  const since = h("input", { type: "date", name: "since", "aria-label": "From" });
  const until = h("input", { type: "date", name: "until", "aria-label": "Until" });
  const more = h("p", { class: "muted" });
  const earlier = h("button", { type: "button", class: "secondary", hidden: true }, "Show earlier messages");
  let cursor = null;
  let first = null; // the seq of the first message shown, while a message is open in context
  let loading = false;
  let generation = 0; // a new search or filter starts a new generation; older pages are dropped

  const query = () => {
    const params = new URLSearchParams();
    if (search.value) params.set("q", search.value);
    if (sender.value) params.set("sender", sender.value);
    if (since.value) params.set("since", dayStart(since.value));
    if (until.value) params.set("until", dayStart(until.value, 1));
    return params;
  };
  /** @param {Schemas["MessageRead"]} message */
  const render = (message) => messageItem(message, { id: `m${message.seq}` });
  const load = async (reset, from = null) => {
    if (reset) { generation += 1; cursor = null; list.replaceChildren(); } else if (loading) return;
    const mine = generation;
    loading = true;
    const params = query();
    params.set("limit", String(PAGE));
    if (cursor) params.set("cursor", cursor);
    if (from !== null) params.set("from_seq", String(from));
    try {
      const { data } = await api(`/chats/${chatId}/messages?${params}`);
      if (mine !== generation) return;
      list.append(...data.items.map(render));
      cursor = data.next_cursor;
      more.textContent = cursor ? "Scroll for more" : list.children.length ? "" : "No messages match.";
      // A page that does not fill the screen leaves the marker in view: no scroll will come.
      if (cursor && more.getBoundingClientRect().top < innerHeight) setTimeout(() => load(false));
    } catch (error) {
      if (mine === generation) more.replaceChildren(errorLine(error));
    } finally {
      if (mine === generation) loading = false;
    }
  };
  const refilter = () => { first = null; earlier.hidden = true; load(true); };
  // Earlier messages than the first shown (a message opened in context): the page before it.
  earlier.addEventListener("click", async () => {
    const from = Math.max(0, first - PAGE);
    const params = new URLSearchParams({ limit: String(first - from), from_seq: String(from) });
    try {
      const { data } = await api(`/chats/${chatId}/messages?${params}`);
      list.prepend(...data.items.map(render));
      first = from;
      earlier.hidden = first === 0;
    } catch (error) {
      earlier.after(errorLine(error));
    }
  });

  let typing;
  search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(refilter, 300); });
  for (const filter of [sender, since, until]) filter.addEventListener("change", refilter);
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting) && cursor) load(false);
  }).observe(more);

  const counts = (current) => `${number(current.message_count)} messages · ${current.participants.join(", ")}`;
  const countLine = h("p", { class: "muted" }, counts(chat));
  show(chat.title, renameable(chat), countLine,
    chatTabs(chat, "messages"),
    h("div", { class: "toolbar", role: "search" }, search, sender,
      h("label", { class: "inline" }, "From", since), h("label", { class: "inline" }, "Until", until)),
    earlier, list, more,
    h("details", { class: "merge" }, h("summary", {}, "Merge a newer export"),
      mergeZone(chat, (merged) => { countLine.textContent = counts(merged); refilter(); })));

  if (at === null) return load(true);
  first = Math.max(0, at - CONTEXT);
  earlier.hidden = first === 0;
  await load(true, first);
  const target = document.getElementById(`m${at}`);
  if (target) {
    target.classList.add("target");
    target.setAttribute("tabindex", "-1");
    target.setAttribute("aria-current", "true");
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }
}
