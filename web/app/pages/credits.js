// Credits: the balance, the ledger, and buying a package.

import { api } from "../lib/api.js";
import { credits, dateTime, errorLine, h, show } from "../lib/dom.js";

/** @typedef {import("../lib/dom.js").Schemas} Schemas */

const KINDS = {
  signup: "Welcome credits", purchase: "Purchase", insight_charge: "Insight",
  insight_refund: "Insight refund", admin_grant: "Granted", purchase_refund: "Purchase refunded",
};

const money = (cents, currency) =>
  new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(cents / 100);

export async function creditsPage() {
  const balance = h("p", { class: "balance", "aria-live": "polite" });
  const ledger = h("ol", { class: "ledger", "aria-label": "Ledger" });
  const status = h("div", { "aria-live": "polite" });
  const reload = async () => {
    /** @type {[{data: Schemas["Balance"]}, {data: Schemas["Page_CreditTransactionRead_"]}]} */
    const [{ data: current }, { data: page }] = await Promise.all([
      api("/credits/balance"), api("/credits/transactions?limit=50"),
    ]);
    balance.textContent = `Balance: ${credits(current.balance)}`;
    ledger.replaceChildren(...page.items.map((entry) => h("li", {},
      h("span", { class: "amount" }, `${entry.amount > 0 ? "+" : ""}${entry.amount}`),
      h("span", {}, ` ${KINDS[entry.kind] || entry.kind}`),
      h("time", { class: "time", datetime: entry.created_at }, dateTime(entry.created_at)),
      h("span", { class: "muted" }, ` → ${entry.balance_after}`))));
  };
  const buy = async (name) => {
    status.replaceChildren(h("p", {}, "Paying…"));
    try {
      /** @type {{data: Schemas["PaymentRead"]}} */
      const { data: payment } = await api("/payments", {
        method: "POST", json: { package: name }, headers: { "Idempotency-Key": crypto.randomUUID() },
      });
      if (payment.provider !== "fake") { location.href = payment.checkout_url; return; }
      // The fake provider: pay the checkout as its webhook would (development and demos).
      await api(`/payments/${payment.id}/fake-complete`, { method: "POST" });
      status.replaceChildren(h("p", { role: "status" }, `${credits(payment.credits)} added.`));
      await reload();
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  };
  /** @type {{data: Schemas["PackageRead"][]}} */
  const { data: packages } = await api("/payments/packages");
  const offers = h("div", { class: "toolbar" }, ...packages.map((offer) =>
    h("button", { type: "button", onclick: () => buy(offer.name) },
      `Buy ${credits(offer.credits)} for ${money(offer.amount_cents, offer.currency)}`)));
  show("Credits", h("h1", {}, "Credits"), balance, offers, status, h("h2", {}, "Ledger"), ledger);
  await reload();
}
