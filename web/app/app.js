// The Chatsight web app: plain ES modules, no build step, served at /app by the API. It uses
// only the public API (/api/v1), on this origin or on the one `?api=` names (CORS).
// Pages are hash routes: #/signin, #/register, #/chats, #/chats/<id> (its messages),
// #/chats/<id>/at/<seq> and #/chats/<id>/message/<message id> (one message in its context),
// #/chats/<id>/insights, #/ask, #/ask/<conversation id>, #/credits.

import { signOut, tokens } from "./lib/api.js";
import { errorLine, show } from "./lib/dom.js";
import { askPage, conversationPage } from "./pages/ask.js";
import { authPage } from "./pages/auth.js";
import { chatPage } from "./pages/chat.js";
import { chatsPage } from "./pages/chats.js";
import { creditsPage } from "./pages/credits.js";
import { insightsPage } from "./pages/insights.js";

const ID = "([0-9a-f-]{36})";
/** @type {Array<[RegExp, (...groups: string[]) => Promise<void>]>} */
const ROUTES = [
  [new RegExp(`^/chats/${ID}$`), (id) => chatPage(id)],
  [new RegExp(`^/chats/${ID}/at/(\\d+)$`), (id, seq) => chatPage(id, { at: Number(seq) })],
  [new RegExp(`^/chats/${ID}/message/(\\d+)$`), (id, message) => chatPage(id, { messageId: Number(message) })],
  [new RegExp(`^/chats/${ID}/insights$`), (id) => insightsPage(id)],
  [new RegExp(`^/ask/${ID}$`), (id) => conversationPage(id)],
  [/^\/ask$/, () => askPage()],
  [/^\/credits$/, () => creditsPage()],
  [/^\/chats$/, () => chatsPage()],
];

async function route() {
  const path = location.hash.slice(1) || "/chats";
  const signedIn = Boolean(tokens.access);
  document.getElementById("nav").hidden = !signedIn;
  for (const link of document.querySelectorAll("#nav a")) {
    link.toggleAttribute("aria-current", path.startsWith(link.getAttribute("href").slice(1)));
  }
  if (!signedIn) return authPage(path === "/register" ? "register" : "signin");
  if (path === "/register" || path === "/signin") { location.hash = "#/chats"; return; }
  const [pattern, page] = ROUTES.find(([pattern]) => pattern.test(path)) || ROUTES.at(-1);
  try {
    await page(...(path.match(pattern) || []).slice(1));
  } catch (error) {
    show("Error", errorLine(error));
  }
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await signOut();
  if (location.hash === "#/signin") route(); else location.hash = "#/signin";
});
window.addEventListener("hashchange", route);
route();
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault(); // the hash is the route: move the focus instead
  document.getElementById("view").focus();
});
