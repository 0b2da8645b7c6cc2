// Charts: uPlot (vendored, global `uPlot`) draws lines and bars; the heatmap and ranked bars are
// HTML, so they read as text. Every chart is a figure with a caption, a text summary for
// screen readers, and its numbers as a table one click away.

import { h } from "./dom.js";

export const COLOURS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#0a3069", "#bf3989", "#4d2d00"];

export function table(headers, rows, caption) {
  return h("table", {}, caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, ...headers.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map((cell, i) => i === 0 ? h("th", { scope: "row" }, String(cell)) : h("td", {}, String(cell)))))));
}

/** A chart in a figure: its caption, the chart, and its data as a table behind a disclosure. */
export function figure(title, chart, data) {
  return h("figure", { class: "chart" }, h("figcaption", {}, title), chart,
    data ? h("details", {}, h("summary", {}, "Show the numbers"), data) : null);
}

/** A canvas chart sized to its container, redrawn when the container's width changes. */
function plot(options, data, summary) {
  const holder = h("div", { class: "plot", role: "img", "aria-label": summary });
  const draw = () => {
    const width = Math.max(240, holder.clientWidth);
    if (holder.chart) return holder.chart.setSize({ width, height: options.height });
    holder.chart = new uPlot({ ...options, width }, data, holder);
  };
  new ResizeObserver(() => holder.isConnected && draw()).observe(holder);
  return holder;
}

const monthTime = (month) => Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1, 1) / 1000;

/**
 * Lines over months: `months` like "2024-03", `series` [{label, values}] (null is a gap).
 * `range` fixes the y scale ([min, max]); `format` writes a y value.
 * @param {string[]} months
 * @param {{label: string, values: (number | null)[]}[]} series
 * @param {{summary: string, range?: [number, number], format?: (value: number) => string, height?: number}} options
 */
export function monthLines(months, series, { summary, range, format = (value) => String(value), height = 260 }) {
  const times = months.map(monthTime);
  const every = Math.ceil(months.length / 8); // at most 8 month names along the axis
  const monthName = (time) => new Date(time * 1000).toLocaleDateString(undefined, { month: "short", year: "2-digit", timeZone: "UTC" });
  const options = {
    height,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: range ? { range: () => range } : { auto: true } },
    axes: [
      { stroke: "#57606a", splits: () => times.filter((_, i) => i % every === 0), values: (_, splits) => splits.map(monthName) },
      { stroke: "#57606a", values: (_, splits) => splits.map(format), size: 50 },
    ],
    series: [{}, ...series.map((line, i) => ({
      label: line.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false,
      points: { show: months.length < 40 }, value: (_, v) => (v === null ? "—" : format(v)),
    }))],
  };
  return plot(options, [times, ...series.map((line) => line.values)], summary);
}

/**
 * Vertical bars over named categories (`labels`), one value each.
 * @param {string[]} labels
 * @param {number[]} values
 * @param {{summary: string, label: string, height?: number}} options
 */
export function bars(labels, values, { summary, label, height = 240 }) {
  const options = {
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (_, __, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [
      { stroke: "#57606a", splits: () => labels.map((_, i) => i), values: (_, splits) => splits.map((i) => labels[i] ?? ""), gap: 4 },
      { stroke: "#57606a", size: 50 },
    ],
    series: [{}, { label, fill: "#0969dacc", stroke: COLOURS[0], paths: uPlot.paths.bars({ size: [0.7, 64] }), points: { show: false } }],
  };
  return plot(options, [labels.map((_, i) => i), values], summary);
}

/**
 * Ranked horizontal bars in HTML, the longest bar the largest value.
 * @param {{label: string, value: number, text?: string}[]} rows
 * @param {string} name
 */
export function rankedBars(rows, name) {
  const top = Math.max(1, ...rows.map((row) => row.value));
  return h("ol", { class: "ranked", "aria-label": name }, ...rows.map((row) => h("li", {},
    h("span", { class: "label" }, row.label),
    h("span", { class: "bar", style: `width: ${(100 * Math.max(row.value, 0)) / top}%`, "aria-hidden": "true" }),
    h("span", { class: "value" }, row.text ?? String(row.value)))));
}

/**
 * Who answers whom: repliers down, the people they answered across, each cell the replies
 * and their median delay, shaded by the count.
 * @param {import("./dom.js").Schemas["ReplyPair"][]} pairs
 * @param {string[]} names in the chat's order
 * @param {(seconds: number) => string} delay how a delay reads
 */
export function replyMatrix(pairs, names, delay) {
  const top = Math.max(1, ...pairs.map((pair) => pair.replies));
  const find = (from, to) => pairs.find((pair) => pair.participant === from && pair.to === to);
  return h("table", { class: "matrix" },
    h("caption", { class: "visually-hidden" }, "Replies of each person (rows) to each other person (columns)"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "replies ↓ to →"), ...names.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, ...names.map((from) => h("tr", {}, h("th", { scope: "row" }, from), ...names.map((to) => {
      const pair = find(from, to);
      if (!pair) return h("td", { class: "empty" }, from === to ? "" : "0");
      const level = 0.1 + 0.5 * (pair.replies / top);
      return h("td", { style: `--level: ${level.toFixed(3)}` }, `${pair.replies} · ${delay(pair.median_seconds)}`);
    })))));
}

/**
 * The activity heatmap: weekdays down, hours across, each cell shaded by its count (a table:
 * every cell has its count for screen readers and as a tooltip).
 * @param {import("./dom.js").Schemas["WeekdayHourCount"][]} cells
 */
export function heatmap(cells) {
  const weekdays = [...new Set(cells.map((cell) => cell.weekday))];
  const top = Math.max(1, ...cells.map((cell) => cell.count));
  const count = new Map(cells.map((cell) => [`${cell.weekday} ${cell.hour}`, cell.count]));
  const hours = [...Array(24).keys()];
  return h("table", { class: "heatmap" },
    h("caption", { class: "visually-hidden" }, "Messages by weekday and hour of the day"),
    h("thead", {}, h("tr", {}, h("td", {}), ...hours.map((hour) => h("th", { scope: "col" }, hour % 3 === 0 ? String(hour) : h("span", { class: "visually-hidden" }, String(hour)))))),
    h("tbody", {}, ...weekdays.map((weekday) => h("tr", {},
      h("th", { scope: "row" }, weekday.slice(0, 3)),
      ...hours.map((hour) => {
        const value = count.get(`${weekday} ${hour}`) || 0;
        const level = value ? 0.12 + 0.88 * (value / top) : 0;
        return h("td", { style: `--level: ${level.toFixed(3)}`, title: `${weekday} ${hour}:00 — ${value} messages` },
          h("span", { class: "visually-hidden" }, `${value}`));
      })))));
}
