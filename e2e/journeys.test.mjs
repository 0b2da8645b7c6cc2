// The web app's journeys in a real browser: Debian's Chromium (CHROMIUM, default
// /usr/bin/chromium) driven by playwright-core, against `make run`'s stack started by
// e2e/run.py. APP_URL is where the app is served: /app on the API itself, or another origin
// (`?api=` names the API, whose CORS_ORIGINS allows that origin).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const APP_URL = process.env.APP_URL;
const EXPORT = fileURLToPath(
  new URL("../tests/fixtures/corpus/chat-miner/whatsapp/test_ddmmyy_24hrs.txt", import.meta.url),
);
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
});
after(async () => browser && browser.close());

/** A new account, registered through the app's own form; the app then shows the chats. */
async function register(page, name) {
  const email = `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  await page.goto(APP_URL + "#/register");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Register" }).click();
  await page.getByRole("heading", { name: "Your chats" }).waitFor();
}

test("register, bring in a chat by file, read, search and filter it, sign out", async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // phone-sized
  const failed = [];
  page.on("pageerror", (error) => failed.push(error.message));
  await register(page, "Ada");

  await page.setInputFiles("#export-file", EXPORT);
  await page.getByText("imported.").waitFor();
  const link = page.getByRole("list", { name: "Your chats" }).getByRole("link").first();
  await link.click();

  const messages = page.getByRole("list", { name: "Messages" }).getByRole("listitem");
  await messages.first().waitFor();
  assert.ok((await messages.count()) >= 5, "the chat's messages are listed");

  await page.getByLabel("Sender").selectOption("Jahn Doe");
  await page.waitForFunction(
    () => [...document.querySelectorAll("ol.messages .sender")].every((n) => n.textContent === "Jahn Doe"),
  );
  await page.getByLabel("Sender").selectOption("");
  await page.getByLabel("Search messages").fill("libero");
  await page.waitForFunction(() => {
    const items = [...document.querySelectorAll("ol.messages li")];
    return items.length > 0 && items.every((item) => /libero/i.test(item.textContent));
  });

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.deepEqual(failed, [], "no script error on any page");
  await page.close();
});

test("buy credits with the fake provider: balance and ledger follow", async () => {
  const page = await browser.newPage();
  await register(page, "Bo");

  await page.getByRole("link", { name: "Credits" }).click();
  await page.getByText("Balance: 10 credits").waitFor();
  await page.getByRole("button", { name: /Buy 50 credits/ }).click();
  await page.getByText("Balance: 60 credits").waitFor();
  const ledger = page.getByRole("list", { name: "Ledger" }).getByRole("listitem");
  assert.equal(await ledger.count(), 2);
  assert.match(await ledger.first().textContent(), /\+50 Purchase/);
  await page.close();
});

test("an error the API answers is shown in words, not swallowed", async () => {
  const page = await browser.newPage();
  await page.goto(APP_URL + "#/signin");
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.ok((await alert.textContent()).length > 0);
  await page.close();
});
