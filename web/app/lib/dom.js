// Building the page: elements, the view, errors, and how times and numbers read.

const view = document.getElementById("view");

/** An element: attributes (`on*` are listeners; false, null and undefined are left out) and children. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** Replace the page's content, and give the page its title. */
export function show(title, ...nodes) {
  document.title = title ? `${title} · Chatsight` : "Chatsight";
  view.replaceChildren(...nodes);
}

export function errorLine(error) { return h("p", { class: "error", role: "alert" }, error.message); }

export const dateTime = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
export const number = (value) => new Intl.NumberFormat().format(value);
export const credits = (count) => `${number(count)} credit${count === 1 ? "" : "s"}`;

/** A duration in seconds as people say it: "45 s", "3 min", "2.5 h", "1.2 days". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${+(seconds / 60).toFixed(1)} min`;
  if (seconds < 86400) return `${+(seconds / 3600).toFixed(1)} h`;
  return `${+(seconds / 86400).toFixed(1)} days`;
}

/** @typedef {import("../../../clients/typescript/schema").components["schemas"]} Schemas */

/**
 * One message as the message list and the citations show it.
 * @param {Schemas["MessageRead"] | Schemas["Citation"]} message
 * @param {{id?: string, extra?: Node}} [options]
 */
export function messageItem(message, { id, extra } = {}) {
  return h("li", { id, class: "message" },
    h("div", { class: "meta" },
      h("span", { class: "sender" }, message.sender || "—"),
      h("time", { class: "time", datetime: message.sent_at }, dateTime(message.sent_at))),
    h("div", { class: "text" }, message.text || ("attachment" in message && message.attachment ? `[${message.attachment.kind}]` : "")),
    extra);
}

/** A file drop zone with a picker: `onFile(file)` for the one dropped or chosen. */
export function dropZone(label, onFile, ...extra) {
  const input = h("input", { type: "file", accept: ".txt,.zip,.json,.csv" });
  const zone = h("div", { class: "drop", "aria-label": label, role: "group" },
    h("p", {}, label, " — drop it here, or ", h("label", { class: "picker" }, "choose a file", input)), ...extra);
  input.addEventListener("change", () => { if (input.files[0]) onFile(input.files[0]); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files[0]) onFile(event.dataTransfer.files[0]);
  });
  return zone;
}

/** Midnight of a `<input type=date>` value (plus `days`) in this browser's time zone, as ISO 8601. */
export function dayStart(value, days = 0) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + days).toISOString();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
