// Asking questions of chosen chats: conversations, the answer streaming in, and its
// citations as numbered links that open each message in its chat.

import { all, api, stream } from "../lib/api.js";
import { dateTime, dayStart, errorLine, h, messageItem, show } from "../lib/dom.js";

/** @typedef {import("../lib/dom.js").Schemas} Schemas */

/** @param {Schemas["Citation"]} citation */
const citationHref = (citation) => `#/chats/${citation.chat_id}/message/${citation.message_id}`;

/** An answer's text with each `[n]` a link to the message cited as n (when there is one). */
/**
 * @param {string} content
 * @param {Schemas["Citation"][]} citations
 */
function answerText(content, citations) {
  const cited = new Map(citations.map((citation) => [citation.marker, citation]));
  return h("div", { class: "text" }, ...content.split(/(\[\d+\])/).map((part) => {
    const citation = cited.get(Number(part.slice(1, -1)));
    if (!/^\[\d+\]$/.test(part) || !citation) return part;
    return h("a", { href: citationHref(citation), class: "cite", "aria-label": `Source ${citation.marker}: ${citation.sender || "someone"}, ${dateTime(citation.sent_at)}` }, part);
  }));
}

/** @param {Schemas["Citation"][]} citations */
function sources(citations) {
  if (!citations.length) return null;
  return h("ol", { class: "sources", "aria-label": "Sources" }, ...citations.map((citation) =>
    messageItem(citation, { extra: h("a", { href: citationHref(citation) }, `Open [${citation.marker}] in the chat`) })));
}

/** @param {Pick<Schemas["ConversationMessageRead"], "role" | "content"> & {citations?: Schemas["Citation"][]}} message */
function turn(message) {
  if (message.role === "user") return h("li", { class: "turn question" }, h("p", { class: "who" }, "You asked"), h("div", { class: "text" }, message.content));
  return h("li", { class: "turn answer" }, h("p", { class: "who" }, "Answer"),
    answerText(message.content, message.citations), sources(message.citations));
}

export async function askPage() {
  /** @type {[Schemas["ChatRead"][], Schemas["ConversationRead"][]]} */
  const [chats, conversations] = await Promise.all([all("/chats"), all("/rag/conversations")]);
  const status = h("div", { "aria-live": "polite" });
  const ready = chats.filter((chat) => chat.status === "ready");
  const form = h("form", { class: "card wide", "aria-label": "New conversation" },
    h("h2", {}, "Ask something new"),
    h("fieldset", {}, h("legend", {}, "Answer from these chats"),
      ...(ready.length ? ready.map((chat, i) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "chat", value: chat.id, checked: i === 0 }), chat.title,
        chat.index_status === "ready" ? "" : h("span", { class: "muted" }, chat.index_status === "failed" ? " (not searchable)" : " (still being indexed)")))
        : [h("p", { class: "muted" }, "Import a chat first.")])),
    h("label", {}, "Title (optional)", h("input", { name: "title", maxlength: 200 })),
    h("button", { type: "submit", disabled: !ready.length }, "Start"),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = new FormData(form);
    const chatIds = values.getAll("chat");
    if (!chatIds.length) { status.replaceChildren(errorLine(new Error("Choose at least one chat."))); return; }
    try {
      const { data } = await api("/rag/conversations", { method: "POST", json: { chat_ids: chatIds, title: values.get("title") || null } });
      location.hash = `#/ask/${data.id}`;
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  });
  const list = h("ul", { class: "chats", "aria-label": "Your conversations" }, ...conversations.map((conversation) => h("li", {},
    h("a", { href: `#/ask/${conversation.id}` }, conversation.title),
    h("span", { class: "muted" }, ` — ${dateTime(conversation.updated_at)}`))));
  show("Ask", h("h1", {}, "Ask your chats"), form, h("h2", {}, "Conversations"), conversations.length ? list : h("p", { class: "muted" }, "None yet."));
}

/**
 * Narrowing a question down to some people and a date range of the conversation's chats: the
 * controls, and the question's `filters` they make (null when nothing narrows).
 * @param {string[]} chatIds
 */
async function narrowing(chatIds) {
  /** @type {{data: Schemas["ChatRead"]}[]} */
  const chats = await Promise.all(chatIds.map((id) => api(`/chats/${id}`)));
  const people = [...new Set(chats.flatMap(({ data }) => data.participants))].sort();
  const since = h("input", { type: "date", "aria-label": "Messages from" });
  const until = h("input", { type: "date", "aria-label": "Messages until" });
  const boxes = people.map((name) => h("input", { type: "checkbox", name: "sender", value: name }));
  const node = h("details", { class: "narrow" }, h("summary", {}, "Narrow it down"),
    h("fieldset", {}, h("legend", {}, "Only messages from"),
      ...boxes.map((box) => h("label", { class: "check" }, box, box.value))),
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, "From", since), h("label", { class: "inline" }, "Until", until)));
  const filters = () => {
    const senders = boxes.filter((box) => box.checked).map((box) => box.value);
    if (!senders.length && !since.value && !until.value) return null;
    return {
      senders: senders.length ? senders : null,
      since: since.value ? dayStart(since.value) : null,
      until: until.value ? dayStart(until.value, 1) : null,
    };
  };
  return { node, filters };
}

export async function conversationPage(conversationId) {
  /** @type {{data: Schemas["ConversationDetail"]}} */
  const { data: conversation } = await api(`/rag/conversations/${conversationId}`);
  const turns = h("ol", { class: "turns", "aria-label": "Questions and answers" }, ...conversation.messages.map(turn));
  const narrow = await narrowing(conversation.chat_ids);
  const question = h("textarea", { name: "content", required: true, rows: 2, placeholder: "When did we…?", "aria-label": "Your question" });
  const button = h("button", { type: "submit" }, "Ask");
  const form = h("form", { class: "ask", "aria-label": "Ask a question" }, question, button, narrow.node);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = question.value.trim();
    if (!content) return;
    button.disabled = true;
    turns.append(turn({ role: "user", content }));
    const text = h("div", { class: "text", "aria-busy": "true" });
    const answer = h("li", { class: "turn answer" }, h("p", { class: "who" }, "Answer"), text);
    turns.append(answer);
    let said = "";
    try {
      await stream(`/rag/conversations/${conversationId}/messages`, { content, filters: narrow.filters() }, (name, data) => {
        if (name === "token") { said += data; text.textContent = said; }
        if (name === "done") answer.replaceWith(turn(data));
        if (name === "error") answer.append(errorLine(data.error));
      });
      question.value = "";
    } catch (error) {
      answer.append(errorLine(error));
    } finally {
      text.removeAttribute("aria-busy");
      button.disabled = false;
    }
  });
  show(conversation.title, h("h1", {}, conversation.title),
    h("p", { class: "muted" }, h("a", { href: "#/ask" }, "All conversations")), turns, form);
}
