// The chat list, and bringing in an export (a new chat) or a newer one (merged into a chat).

import { all, api } from "../lib/api.js";
import { dateTime, dropZone, errorLine, h, number, show, sleep } from "../lib/dom.js";

/** @typedef {import("../lib/dom.js").Schemas} Schemas */

const ORDERS = { dmy: "day/month/year", mdy: "month/day/year", ymd: "year/month/day", ydm: "year/day/month" };

function dateOrderSelect() {
  return h("select", { name: "date_order", "aria-label": "Date order" },
    h("option", { value: "" }, "Dates: read the order from the file"),
    ...Object.entries(ORDERS).map(([value, label]) => h("option", { value }, `Dates are ${label}`)));
}

/**
 * Upload an export as a new chat, or merged into the chat `into`, with its date order; while
 * a worker imports it, a progress bar. Resolves to the chat once it is ready, or to null
 * after the error has been shown in `status`.
 */
export async function upload(file, dateOrder, status, into = null) {
  const form = new FormData();
  form.append("file", file);
  if (dateOrder) form.append("date_order", dateOrder);
  status.replaceChildren(h("p", {}, `Uploading ${file.name}…`));
  try {
    const path = into ? `/chats/${into}/import` : "/chats/import";
    const { status: code, data, headers } = await api(path, { method: "POST", form });
    const chat = into ? data.chat : data;
    if (code === 202) return await follow(chat.id, status, Boolean(into));
    const replayed = !into && headers.get("Idempotent-Replayed") === "true";
    status.replaceChildren(h("p", { role: "status" }, replayed ? `${chat.title} was imported before.` : outcome(chat, Boolean(into))));
    return chat;
  } catch (error) {
    status.replaceChildren(errorLine(error));
    return null;
  }
}

/** @param {Schemas["ChatRead"]} chat */
function outcome(chat, merged) {
  return merged
    ? `${chat.title}: ${number(chat.last_merge_added)} new messages merged, ${number(chat.last_merge_already_present)} already there.`
    : `${chat.title} imported: ${number(chat.message_count)} messages.`;
}

/** A queued import or merge: its progress until the chat is ready (the chat) or failed (null). */
async function follow(chatId, status, merged) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Import progress" });
  status.replaceChildren(h("p", {}, merged ? "Merging…" : "Importing…"), bar);
  for (;;) {
    /** @type {{data: Schemas["ChatRead"]}} */
    const { data: chat } = await api(`/chats/${chatId}`);
    bar.value = chat.import_progress || 0;
    if (chat.status === "ready") {
      status.replaceChildren(h("p", { role: "status" }, outcome(chat, merged)));
      return chat;
    }
    if (chat.status === "failed") {
      status.replaceChildren(h("p", { class: "error", role: "alert" }, chat.error || "The import failed."));
      return null;
    }
    await sleep(500);
  }
}

/**
 * When nothing in the export decided its date order (every date reads both ways), say how it
 * was read and offer the other order: the chat is deleted and the file imported again.
 * @param {Schemas["ChatRead"]} chat
 * @param {File} file
 * @param {HTMLElement} status
 * @param {() => Promise<void>} done
 */
function dateOrderChoice(chat, file, status, done) {
  if (chat.date_order_source !== "default") return;
  const other = chat.date_order === "dmy" ? "mdy" : "dmy";
  const again = async () => {
    try {
      await api(`/chats/${chat.id}`, { method: "DELETE" });
    } catch (error) {
      status.replaceChildren(errorLine(error));
      return;
    }
    await done();
    if (await upload(file, other, status)) await done();
  };
  status.append(h("div", { class: "notice", role: "status" },
    h("p", {}, `Every date in this export reads both ways, so they were read as ${ORDERS[chat.date_order]}.`),
    h("button", { type: "button", onclick: again }, `Read them as ${ORDERS[other]} instead`)));
}

export async function chatsPage() {
  const list = h("ul", { class: "chats", "aria-label": "Your chats" });
  const status = h("div", { "aria-live": "polite" });
  const order = dateOrderSelect();
  const reload = () => loadChats(list, status);
  const zone = dropZone("Bring in a WhatsApp, Telegram, Signal, Instagram, JSON or CSV export", async (file) => {
    const chat = await upload(file, order.value, status);
    if (chat) { dateOrderChoice(chat, file, status, reload); await reload(); }
  }, order);
  show("Your chats", h("h1", {}, "Your chats"), zone, status, list);
  await reload();
}

/**
 * @param {HTMLElement} list
 * @param {HTMLElement} status where a deletion is told, with its undo
 */
async function loadChats(list, status) {
  /** @type {Schemas["ChatRead"][]} */
  const chats = await all("/chats");
  const reload = () => loadChats(list, status);
  /** @param {Schemas["ChatRead"]} chat */
  const remove = async (chat) => {
    try {
      await api(`/chats/${chat.id}`, { method: "DELETE" });
      const undo = async () => {
        try {
          await api(`/chats/${chat.id}/restore`, { method: "POST" });
          status.replaceChildren(h("p", { role: "status" }, `${chat.title} is back.`));
        } catch (error) {
          status.replaceChildren(errorLine(error));
        }
        await reload();
      };
      status.replaceChildren(h("p", { role: "status" }, `${chat.title} deleted. `,
        h("button", { type: "button", class: "secondary", onclick: undo }, "Undo")));
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
    await reload();
  };
  list.replaceChildren(...(chats.length ? chats.map((chat) => h("li", { class: "row" },
    h("div", {}, h("a", { href: `#/chats/${chat.id}` }, chat.title),
      h("span", { class: "muted" }, ` — ${number(chat.message_count)} messages`,
        chat.last_message_at ? `, last ${dateTime(chat.last_message_at)}` : "",
        chat.status === "ready" ? "" : ` (${chat.status})`)),
    h("button", { type: "button", class: "secondary small", "aria-label": `Delete ${chat.title}`, onclick: () => remove(chat) }, "Delete")))
    : [h("li", { class: "muted" }, "No chats yet.")]));
}

/** Merge a newer export of this chat (what it already holds is recognised and skipped). */
/**
 * @param {Schemas["ChatRead"]} chat
 * @param {(merged: Schemas["ChatRead"]) => void} onMerged
 */
export function mergeZone(chat, onMerged) {
  const status = h("div", { "aria-live": "polite" });
  const order = dateOrderSelect();
  return h("section", { "aria-label": "Merge a newer export" },
    dropZone("Merge a newer export of this chat", async (file) => {
      const merged = await upload(file, order.value, status, chat.id);
      if (merged) await onMerged(merged);
    }, order),
    status);
}
