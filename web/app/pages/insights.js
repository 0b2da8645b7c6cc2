// A chat's insights: the catalogue with each one's cost, requesting one (or running it
// again), watching it complete, and each result drawn as charts.

import { all, api } from "../lib/api.js";
import { bars, figure, heatmap, monthLines, rankedBars, replyMatrix, table } from "../lib/charts.js";
import { credits, dateTime, duration, errorLine, h, number, show, sleep } from "../lib/dom.js";
import { chatTabs } from "./chat.js";

/** @typedef {import("../lib/dom.js").Schemas} Schemas */

const signed = (value) => (value === null || value === undefined ? "—" : (value > 0 ? "+" : "") + value.toFixed(2));
const percent = (share) => `${Math.round(share * 100)}%`;

/** Each insight type's result as figures; a type this app does not know is shown as JSON. */
const RENDER = {
  /** @param {Schemas["ActivityResult"]} result */
  activity(result) {
    const names = result.participants.map((p) => p.participant);
    const months = result.months || [];
    return [
      h("p", {}, `${number(result.total_messages)} messages, ${number(result.total_words)} words, ${number(result.total_media)} media`,
        result.first_message_at ? ` from ${dateTime(result.first_message_at)} to ${dateTime(result.last_message_at)}` : "",
        ` (${result.timezone}).`),
      result.by_weekday_hour?.length ? figure("When messages are sent (weekday and hour)", heatmap(result.by_weekday_hour),
        table(["Weekday", "Messages"], result.by_weekday.map((day) => [day.weekday, day.count]))) : null,
      months.length ? figure("Messages per participant, month by month",
        monthLines(months.map((m) => m.month), names.map((name) => ({
          label: name, values: months.map((m) => m.participants.find((p) => p.participant === name)?.messages ?? 0),
        })), { summary: `Messages per month for ${names.join(", ")} from ${months[0].month} to ${months.at(-1).month}` }),
        table(["Month", ...names], months.map((m) => [m.month, ...names.map((name) => m.participants.find((p) => p.participant === name)?.messages ?? 0)]))) : null,
      figure("Who sends what", rankedBars(result.participants.map((p) => ({
        label: p.participant, value: p.messages, text: `${number(p.messages)} messages · ${number(p.words)} words · ${number(p.media)} media`,
      })), "Messages per participant")),
      result.busiest_days.length ? figure("Busiest days", rankedBars(result.busiest_days.map((day) => ({
        label: new Date(`${day.date}T12:00:00`).toLocaleDateString(undefined, { dateStyle: "medium" }), value: day.count, text: `${number(day.count)} messages`,
      })), "Busiest days")) : null,
    ];
  },
  /** @param {Schemas["ResponseTimesResult"]} result */
  response_times(result) {
    const buckets = result.distribution || [];
    const label = (bucket) => `${bucket.min_seconds ? duration(bucket.min_seconds) : "0"}–${duration(bucket.max_seconds)}`;
    return [
      h("p", {}, `${number(result.overall.replies)} replies; half came within ${duration(result.overall.median_seconds)}, nine in ten within ${duration(result.overall.p90_seconds)}. `,
        `A silence over ${result.silence_minutes} minutes starts a new conversation.`),
      buckets.length ? figure("How fast replies come", bars(buckets.map(label), buckets.map((b) => b.replies), {
        label: "Replies", summary: buckets.map((b) => `${label(b)}: ${b.replies} replies`).join("; "),
      }), table(["Delay", "Replies"], buckets.map((b) => [label(b), b.replies]))) : null,
      result.pairs?.length ? figure("Who answers whom (replies · median delay)",
        h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": "Who answers whom" }, replyMatrix(result.pairs, result.participants.map((p) => p.participant), duration))) : null,
      figure("Typical reply time per participant", rankedBars(result.participants.map((p) => ({
        label: p.participant, value: p.median_seconds ?? 0,
        text: p.replies ? `median ${duration(p.median_seconds)} · 90% within ${duration(p.p90_seconds)} · ${number(p.replies)} replies` : "no replies",
      })), "Median reply time per participant")),
    ];
  },
  /** @param {Schemas["InitiatorsResult"]} result */
  initiators(result) {
    return [
      h("p", {}, `${number(result.total_conversations)} conversations (a silence over ${result.silence_minutes} minutes starts a new one).`),
      figure("Who starts the conversations", rankedBars(result.participants.map((p) => ({
        label: p.participant, value: p.conversations_started, text: `${number(p.conversations_started)} (${percent(p.share)})`,
      })), "Conversations started per participant")),
    ];
  },
  /** @param {Schemas["SentimentResult"]} result */
  sentiment(result) {
    const names = result.participants.map((p) => p.participant);
    const months = result.months;
    const overall = result.overall;
    return [
      h("p", {}, `Mood of ${number(overall.messages)} messages: ${number(overall.positive)} positive, ${number(overall.neutral)} neutral, ${number(overall.negative)} negative; `,
        `average ${signed(overall.mean_compound)} on a scale from −1 to +1.`),
      months.length ? figure("Sentiment over time (−1 negative to +1 positive)", monthLines(months.map((m) => m.month), [
        { label: "Everyone", values: months.map((m) => m.sentiment.mean_compound) },
        ...names.map((name) => ({ label: name, values: months.map((m) => m.participants.find((p) => p.participant === name)?.mean_compound ?? null) })),
      ], { range: [-1, 1], format: (v) => v.toFixed(1), summary: `Average sentiment per month from ${months[0].month} to ${months.at(-1).month}` }),
      table(["Month", "Everyone", ...names], months.map((m) => [m.month, signed(m.sentiment.mean_compound),
        ...names.map((name) => signed(m.participants.find((p) => p.participant === name)?.mean_compound ?? null))]))) : null,
      figure("Sentiment per participant", rankedBars(result.participants.map((p) => ({
        label: p.participant, value: Math.abs(p.sentiment.mean_compound ?? 0),
        text: `${signed(p.sentiment.mean_compound)} · ${number(p.sentiment.positive)} positive, ${number(p.sentiment.negative)} negative`,
      })), "Average sentiment per participant")),
    ];
  },
  /** @param {Schemas["KeywordsResult"]} result */
  keywords(result) {
    return result.participants.map((p) => figure(`${p.participant}'s words`, p.keywords.length
      ? rankedBars(p.keywords.slice(0, 10).map((k) => ({ label: k.term, value: k.score, text: `used ${number(k.count)}×` })), `Distinctive words of ${p.participant}`)
      : h("p", { class: "muted" }, "Not enough words to tell.")));
  },
  /**
   * @param {Schemas["SummaryResult"]} result
   * @param {Schemas["ChatRead"]} chat
   */
  summary(result, chat) {
    return [
      h("p", {}, `${result.participants.join(", ")}`,
        result.started_at ? `, from ${dateTime(result.started_at)} to ${dateTime(result.ended_at)}` : "", "."),
      h("ol", { class: "summary", "aria-label": "Summary" }, ...result.messages.map((m) => h("li", {},
        h("a", { href: `#/chats/${chat.id}/at/${m.seq}` }, h("span", { class: "sender" }, m.sender), " ", h("time", { class: "time", datetime: m.sent_at }, dateTime(m.sent_at))),
        h("div", {}, m.text)))),
    ];
  },
};

/**
 * @param {Schemas["ActivityInsight"] | Schemas["OtherInsight"]} insight any insight: its type picks the drawing
 * @param {Schemas["ChatRead"]} chat
 */
function insightBody(insight, chat) {
  if (insight.status === "failed") return h("p", { class: "error", role: "alert" }, insight.error || "It failed; the credits were refunded.");
  if (insight.status !== "completed") {
    return h("p", { role: "status" }, h("progress", { "aria-label": `${insight.insight_type} in progress` }), " Working on it…");
  }
  const render = RENDER[insight.insight_type];
  return h("div", { class: "result" }, render ? render(insight.result, chat) : h("pre", {}, JSON.stringify(insight.result, null, 2)));
}

export async function insightsPage(chatId) {
  /** @type {[{data: Schemas["ChatRead"]}, {data: Schemas["CategoryRead"][]}, Schemas["OtherInsight"][]]} */
  const [{ data: chat }, { data: categories }, insights] = await Promise.all([
    api(`/chats/${chatId}`), api("/categories"), all(`/chats/${chatId}/insights`),
  ]);
  const byType = new Map(insights.map((insight) => [insight.insight_type, insight]));
  const balance = h("p", { class: "muted", "aria-live": "polite" });
  const showBalance = async () => { balance.textContent = `Balance: ${credits((await api("/credits/balance")).data.balance)}`; };
  /** @param {Schemas["InsightTypeRead"]} type */
  const card = (type) => {
    const body = h("div");
    const status = h("div", { "aria-live": "polite" });
    const button = h("button", { type: "button" });
    const section = h("section", { class: "insight", "aria-labelledby": `t-${type.slug}`, "data-type": type.slug },
      h("header", {}, h("h3", { id: `t-${type.slug}` }, type.name), button),
      h("p", { class: "muted" }, type.description), status, body);
    const draw = (insight) => {
      byType.set(type.slug, insight);
      button.textContent = insight ? `Run again (${credits(type.credit_cost)})` : `Generate (${credits(type.credit_cost)})`;
      button.disabled = Boolean(insight && !["completed", "failed"].includes(insight.status));
      body.replaceChildren(insight ? insightBody(insight, chat) : h("p", { class: "muted" }, "Not generated yet."));
      if (insight && insight.stale) body.prepend(h("p", { class: "notice" }, "Messages were added since; run it again to include them."));
    };
    const watch = async (insight) => {
      draw(insight);
      try {
        while (!["completed", "failed"].includes(insight.status)) {
          await sleep(700);
          if (!section.isConnected) return;
          insight = (await api(`/insights/${insight.id}`)).data;
          draw(insight);
        }
        await showBalance();
      } catch (error) {
        status.replaceChildren(errorLine(error));
      }
    };
    button.addEventListener("click", async () => {
      status.replaceChildren();
      try {
        const regenerate = byType.has(type.slug) ? "?regenerate=true" : "";
        const { data } = await api(`/chats/${chatId}/insights${regenerate}`, { method: "POST", json: { insight_type: type.slug } });
        await showBalance();
        await watch(data);
      } catch (error) {
        status.replaceChildren(errorLine(error));
      }
    });
    const existing = byType.get(type.slug);
    if (existing) watch(existing); else draw(null);
    return section;
  };
  const sections = categories.filter((c) => c.is_active).map((category) => h("section", { class: "category" },
    h("h2", { class: "category-name" }, category.name), h("p", { class: "muted" }, category.description),
    ...category.insight_types.filter((type) => type.is_active).map(card)));
  show(`${chat.title}: insights`, h("h1", {}, chat.title), chatTabs(chat, "insights"), balance, ...sections);
  await showBalance();
}
