// The web app's journeys in a real browser: Debian's Chromium (CHROMIUM, default
// /usr/bin/chromium) driven by playwright-core, against `make run`'s stack started by
// e2e/run.py. APP_URL is where the app is served: /app on the API itself, or another origin
// (`?api=` names the API, whose CORS_ORIGINS allows that origin). API_URL is the API's root.
// With SCREENSHOTS set (a folder), each page is photographed there for the docs.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { ambiguousExport, chatExport } from "./exports.mjs";

const { APP_URL, API_URL, SCREENSHOTS } = process.env;
const CORPUS_EXPORT = fileURLToPath(
  new URL("../tests/fixtures/corpus/chat-miner/whatsapp/test_ddmmyy_24hrs.txt", import.meta.url),
);
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1200, height: 900 };
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
});
after(async () => browser && browser.close());

/** A page that fails its test on any script error or unanswered-by-design request failure. */
async function open(viewport = DESKTOP) {
  const page = await browser.newPage({ viewport });
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error.message));
  return page;
}

async function snap(page, name, fullPage = false) {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
}

/**
 * The page as it stands meets WCAG 2.1 A and AA as axe-core checks it (names and labels,
 * contrast, structure, ARIA), and nothing is wider than the screen.
 */
async function accessible(page, name) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => (await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  })).violations.map((v) => `${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`));
  assert.deepEqual(violations, [], `${name}: no accessibility violation`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name}: nothing wider than the screen (${overflow} px over)`);
}

/** A new account, registered through the app's own form; the app then shows the chats. */
async function register(page, name) {
  const email = `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  await page.goto(APP_URL + "#/register");
  await page.getByRole("heading", { name: "Create an account" }).waitFor();
  if (name === "Ana") await snap(page, "register-phone");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Register" }).click();
  await page.getByRole("heading", { name: "Your chats" }).waitFor();
  return email;
}

/** Drop a file on the drop zone named `zone`, as a person dragging it from their desktop would. */
async function drop(page, zone, name, text) {
  const transfer = await page.evaluateHandle(([fileName, content]) => {
    const data = new DataTransfer();
    data.items.add(new File([content], fileName, { type: "text/plain" }));
    return data;
  }, [name, text]);
  await page.getByRole("group", { name: zone }).dispatchEvent("drop", { dataTransfer: transfer });
}

/** Choose a file with the drop zone's picker. */
async function choose(page, zone, name, text) {
  await page.getByRole("group", { name: zone }).locator("input[type=file]")
    .setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
}

const NEW_CHAT = /Bring in a WhatsApp/;
const chatLinks = (page) => page.getByRole("list", { name: "Your chats" }).getByRole("link");
const messages = (page) => page.getByRole("list", { name: "Messages" }).getByRole("listitem");

/** Every shown message passes `check` (run in the page on each message element), and there is one. */
async function allMessages(page, check, argument) {
  await page.waitForFunction(([source, arg]) => {
    const items = [...document.querySelectorAll("ol.messages li")];
    return items.length > 0 && items.every((item) => new Function("item", "arg", source)(item, arg));
  }, [check, argument]);
}

/** The API, called as the signed-in page would (its token), to wait on background work. */
async function apiGet(page, path) {
  return page.evaluate(async ([url]) => {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${sessionStorage.getItem("access")}` } });
    return response.json();
  }, [`${API_URL}/api/v1${path}`]);
}

/** A new account holding the 400-message Trip chat (imported by a worker). */
async function withTrip(name) {
  const page = await open();
  await register(page, name);
  await choose(page, NEW_CHAT, "WhatsApp Chat with Trip.txt", chatExport());
  await page.getByText("Trip imported: 400 messages.").waitFor();
  return page;
}

test("bring in a chat, read it (scroll, search, sender and dates), merge a newer export, sign out and in", async () => {
  const page = await open(PHONE);
  const email = await register(page, "Ana");
  const full = chatExport();
  const older = full.split("\n").slice(0, 300).join("\n") + "\n";

  await drop(page, NEW_CHAT, "WhatsApp Chat with Trip.txt", older);
  await page.getByText("Trip imported: 300 messages.").waitFor();
  await snap(page, "chats-phone");
  await accessible(page, "the chat list on a phone");
  await chatLinks(page).first().click();
  await messages(page).first().waitFor();
  assert.equal(await messages(page).count(), 50, "a first page of messages");
  await snap(page, "messages-phone");
  await accessible(page, "the messages on a phone");
  await messages(page).last().scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelectorAll("ol.messages li").length > 50);

  await page.getByLabel("Sender").selectOption("Ben");
  await allMessages(page, "return item.querySelector('.sender').textContent === arg", "Ben");
  await page.getByLabel("Sender").selectOption("");
  await page.getByLabel("Search messages").fill("flowerpot");
  await allMessages(page, "return /flowerpot/i.test(item.textContent)");
  await page.getByLabel("Search messages").fill("");
  await page.getByLabel("From").fill("2024-02-01");
  await page.getByLabel("Until").fill("2024-02-29");
  await allMessages(page, "const t = new Date(item.querySelector('time').getAttribute('datetime')); "
    + "return t >= new Date(2024, 1, 1) && t < new Date(2024, 2, 1)");
  await page.getByLabel("From").fill("");
  await page.getByLabel("Until").fill("");

  // The newer export holds the 300 messages and 100 more: a worker merges it (202).
  let queued = false;
  page.on("response", (response) => { if (response.request().method() === "POST" && response.status() === 202) queued = true; });
  await page.locator("summary", { hasText: "Merge a newer export" }).click();
  await choose(page, /Merge a newer export/, "WhatsApp Chat with Trip.txt", full);
  await page.getByText("Trip: 100 new messages merged, 300 already there.").waitFor();
  assert.ok(queued, "the merge was queued for a worker");
  await page.getByText(/^400 messages/).waitFor();

  await page.getByRole("button", { name: "Rename" }).click();
  await page.getByLabel("New title").fill("Trip 2024");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "Trip 2024" }).waitFor();

  // An expired access token is renewed with the refresh token, out of sight.
  await page.evaluate(() => sessionStorage.setItem("access", "expired"));
  await page.reload();
  await messages(page).first().waitFor();
  assert.notEqual(await page.evaluate(() => sessionStorage.getItem("access")), "expired");

  // Signing out ends this sign-in on the server too: its refresh token no longer works.
  const refreshToken = await page.evaluate(() => sessionStorage.getItem("refresh"));
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  const refreshed = await page.evaluate(async ([url, token]) => (await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: token }),
  })).status, [`${API_URL}/api/v1/auth/refresh`, refreshToken]);
  assert.equal(refreshed, 401, "the signed-out refresh token is refused");
  await snap(page, "signin-phone");
  await accessible(page, "signing in on a phone");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await chatLinks(page).first().waitFor();

  // Deleting a chat can be undone.
  await page.getByRole("button", { name: "Delete Trip 2024" }).click();
  await page.getByText("Trip 2024 deleted.").waitFor();
  await page.getByText("No chats yet.").waitFor();
  await page.getByRole("button", { name: "Undo" }).click();
  await page.getByText("Trip 2024 is back.").waitFor();
  await chatLinks(page).filter({ hasText: "Trip 2024" }).waitFor();
  assert.deepEqual(page.errors, [], "no script error on any page");
  await page.close();
});

test("import errors are explained, and an ambiguous date order can be read the other way", async () => {
  const page = await open();
  await register(page, "Cy");

  await choose(page, NEW_CHAT, "notes.txt", "just some notes\nnothing like a chat export\n");
  assert.match(await page.getByRole("alert").textContent(), /format|recogni|export/i);
  await choose(page, NEW_CHAT, "huge.txt", "x".repeat(1024 * 1024 + 10)); // MAX_UPLOAD_MB is 1 here
  await page.getByRole("alert").filter({ hasText: /large/i }).waitFor();

  // Markup in a file name, a sender's name or a message is shown as text, never run.
  page.on("dialog", (dialog) => { page.errors.push(`a dialog opened: ${dialog.message()}`); dialog.dismiss(); });
  const markup = "<img src=x onerror=alert(1)>";
  await choose(page, NEW_CHAT, `WhatsApp Chat with ${markup}.txt`,
    `05/06/2024, 10:00 - ${markup}: <script>alert(2)</script>\n13/06/2024, 10:01 - Bob: ${markup}\n`);
  await page.getByText(`${markup} imported: 2 messages.`).waitFor();
  await chatLinks(page).first().click();
  await messages(page).nth(1).waitFor();
  assert.equal(await messages(page).nth(1).locator(".text").textContent(), markup);
  assert.equal(await page.locator("main img, main script").count(), 0, "no element made from the file");
  await page.getByRole("link", { name: "Chats", exact: true }).click();
  await page.getByRole("heading", { name: "Your chats" }).waitFor();

  await choose(page, NEW_CHAT, "WhatsApp Chat with Dates.txt", ambiguousExport());
  await page.getByText("Every date in this export reads both ways").waitFor();
  await snap(page, "import-date-order");
  await accessible(page, "the date order offered");
  const readFirst = await chatLinks(page).first().getAttribute("href");
  await page.getByRole("button", { name: "Read them as month/day/year instead" }).click();
  await page.getByText("Dates imported: 4 messages.").waitFor();
  await page.waitForFunction((old) => { // the chat read the first way is gone, the new one listed
    const links = [...document.querySelectorAll("ul.chats a")];
    return links.length === 2 && links.every((link) => link.getAttribute("href") !== old);
  }, readFirst);
  await chatLinks(page).first().click();
  await messages(page).first().waitFor();
  const sent = await messages(page).first().locator("time").getAttribute("datetime");
  assert.equal(new Date(sent).toISOString(), "2024-03-04T09:00:00.000Z", "read month first");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("insights: request each, watch it complete, see its charts; a summary opens its message", async () => {
  const page = await withTrip("Dee");
  await chatLinks(page).first().click();
  await page.getByRole("link", { name: "Insights" }).click();
  await page.getByText("Balance: 10 credits").waitFor();

  const insight = (slug) => page.locator(`section.insight[data-type=${slug}]`);
  for (const slug of ["summary", "activity", "response_times", "initiators", "sentiment"]) {
    await insight(slug).getByRole("button", { name: /Generate/ }).click();
    await insight(slug).locator(".result").waitFor();
  }
  await page.getByText("Balance: 1 credit").waitFor();
  await insight("keywords").getByRole("button", { name: /Generate/ }).click();
  await insight("keywords").getByRole("alert").filter({ hasText: /credit/i }).waitFor();

  const insightsPage = page.url();
  await page.getByRole("link", { name: "Credits" }).click();
  await page.getByRole("button", { name: /Buy 50 credits/ }).click();
  await page.getByText("Balance: 51 credits").waitFor();
  await page.goto(insightsPage);
  await insight("keywords").getByRole("button", { name: /Generate/ }).click();
  await insight("keywords").locator(".result").waitFor();

  // Each result is drawn: the heatmap (7 weekdays by 24 hours), lines over months, bars.
  assert.equal(await insight("activity").locator("table.heatmap tbody tr").count(), 7);
  assert.equal(await insight("activity").locator("table.heatmap tbody td").count(), 7 * 24);
  for (const slug of ["activity", "sentiment", "response_times"]) {
    assert.ok(await insight(slug).locator(".plot canvas").count() >= 1, `${slug} has a chart`);
  }
  assert.equal(await insight("initiators").locator("ol.ranked li").count(), 3);
  assert.equal(await insight("response_times").locator("table.matrix tbody tr").count(), 3, "who answers whom");
  assert.equal(await insight("keywords").locator("figure").count(), 3);
  await snap(page, "insights", true);
  if (SCREENSHOTS) await insight("activity").screenshot({ path: path.join(SCREENSHOTS, "insight-activity.png") });
  await accessible(page, "the insights");
  await page.setViewportSize(PHONE);
  await accessible(page, "the insights on a phone");
  await snap(page, "insights-phone", true);
  await page.setViewportSize(DESKTOP);

  const first = insight("summary").locator("ol.summary a").first();
  const quoted = await insight("summary").locator("ol.summary li div").first().textContent();
  await first.click();
  const target = page.locator("ol.messages li.target");
  await target.waitFor();
  assert.equal(await target.locator(".text").textContent(), quoted);
  assert.ok(await page.locator("ol.messages li").count() > 1, "the message is shown with those around it");
  await snap(page, "message-in-context");
  await accessible(page, "a message in its context");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("ask: a conversation over a chat, the answer streams in, a citation opens its message", async () => {
  const page = await withTrip("Eve");
  const chatId = (await chatLinks(page).first().getAttribute("href")).split("/").at(-1);
  for (let i = 0; (await apiGet(page, `/chats/${chatId}`)).index_status !== "ready"; i++) {
    assert.ok(i < 240, "the chat is indexed within two minutes");
    await page.waitForTimeout(500);
  }

  let streamed = false;
  page.on("response", (response) => {
    if ((response.headers()["content-type"] || "").startsWith("text/event-stream")) streamed = true;
  });
  await page.getByRole("link", { name: "Ask" }).click();
  await page.getByLabel("Title (optional)").fill("The trip");
  await snap(page, "ask-start");
  await accessible(page, "starting a conversation");
  await page.getByRole("button", { name: "Start" }).click();
  await page.getByRole("heading", { name: "The trip" }).waitFor();
  await page.getByLabel("Your question").fill("where did Ben leave the spare key?");
  await page.getByRole("button", { name: "Ask" }).click();
  const citation = page.locator("li.answer a.cite").first();
  await citation.waitFor();
  assert.ok(streamed, "the answer came as a stream of events");
  assert.match(await page.locator("li.answer").last().textContent(), /flowerpot/);
  await snap(page, "ask", true);
  await accessible(page, "an answer with its citations");

  // The same question narrowed to what Chloé wrote: nothing of Ben's is cited.
  await page.getByText("Narrow it down").click();
  await page.getByRole("checkbox", { name: "Chloé" }).check();
  await page.getByLabel("Your question").fill("where is the spare key?");
  await page.getByRole("button", { name: "Ask" }).click();
  await page.waitForFunction(() => document.querySelectorAll("li.answer").length === 2 && !document.querySelector("[aria-busy]"));
  const narrowed = page.locator("li.answer").last();
  assert.doesNotMatch(await narrowed.textContent(), /flowerpot/);
  for (const sender of await narrowed.locator("ol.sources .sender").allTextContents()) assert.equal(sender, "Chloé");

  await citation.click();
  const target = page.locator("ol.messages li.target");
  await target.waitFor();
  assert.match(await target.textContent(), /flowerpot/);
  const shown = await messages(page).count();
  await page.getByRole("button", { name: "Show earlier messages" }).click();
  await page.waitForFunction((before) => document.querySelectorAll("ol.messages li").length === before + 50, shown);
  assert.match(await target.textContent(), /flowerpot/, "the cited message stays marked");
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** Press Tab until the focused element is the one `locator` finds (at most 40 times). */
async function tabTo(page, locator) {
  const target = await locator.elementHandle();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((element) => document.activeElement === element, target)) return;
  }
  assert.fail("the control is not reachable with the keyboard");
}

test("with the keyboard alone: register, go to the credits, buy, come back to the chats", async () => {
  const page = await open();
  await page.goto(APP_URL + "#/register");
  await tabTo(page, page.getByLabel("Name"));
  await page.keyboard.type("Kit");
  await page.keyboard.press("Tab");
  await page.keyboard.type(`e2e-keys-${Date.now()}@example.com`);
  await page.keyboard.press("Tab");
  await page.keyboard.type("correct horse battery");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Your chats" }).waitFor();
  await tabTo(page, page.getByRole("link", { name: "Credits" }));
  await page.keyboard.press("Enter");
  await page.getByText("Balance: 10 credits").waitFor();
  await tabTo(page, page.getByRole("button", { name: /Buy 50 credits/ }));
  await page.keyboard.press("Enter");
  await page.getByText("Balance: 60 credits").waitFor();
  await tabTo(page, page.getByRole("link", { name: "Chats", exact: true }));
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Your chats" }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("buy credits with the fake provider: balance and ledger follow", async () => {
  const page = await open();
  await register(page, "Bo");

  await page.getByRole("link", { name: "Credits" }).click();
  await page.getByText("Balance: 10 credits").waitFor();
  await page.getByRole("button", { name: /Buy 50 credits/ }).click();
  await page.getByText("Balance: 60 credits").waitFor();
  const ledger = page.getByRole("list", { name: "Ledger" }).getByRole("listitem");
  assert.equal(await ledger.count(), 2);
  assert.match(await ledger.first().textContent(), /\+50 Purchase/);
  await snap(page, "credits");
  await accessible(page, "the credits");
  await page.close();
});

test("the corpus export imports through the picker; a wrong password is shown in words", async () => {
  const page = await open();
  await register(page, "Fay");
  await choose(page, NEW_CHAT, "test_ddmmyy_24hrs.txt", readFileSync(CORPUS_EXPORT, "utf8"));
  await page.getByText(/imported: \d+ messages/).waitFor();
  await snap(page, "chats");
  await page.getByRole("button", { name: "Sign out" }).click();

  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.ok((await alert.textContent()).length > 0);
  await page.close();
});
