// DOM helpers: every text goes in as textContent (never HTML), every style comes from dashboard.css.

const SVG_NS = "http://www.w3.org/2000/svg";

// h("div", { class: "x", dataset: { id: 1 }, onclick: fn }, child, "text", ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "class") el.setAttribute("class", value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  append(el, children);
  return el;
}

// A table: columns [{ title, value: (row) => node|text, class }], rows; an empty text when there are none.
export function table(columns, rows, { empty = "暂无数据", caption = null, rowClass = null } = {}) {
  if (!rows || rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class || null }, c.title)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            { class: rowClass ? rowClass(row) : null },
            columns.map((c) => h("td", { class: c.class || null, "data-label": c.title }, cell(c.value(row)))),
          ),
        ),
      ),
    ),
  );
}

function cell(value) {
  if (value === null || value === undefined || value === "") return "—";
  return value;
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}`.trim() }, text);
}

export function card(title, ...body) {
  return h("section", { class: "card" }, h("h3", {}, title), ...body);
}

export function stat(label, value, kind = "") {
  return h("div", { class: `stat ${kind}`.trim() }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label));
}

export function problem(text) {
  return text ? h("p", { class: "problem", role: "alert" }, text) : null;
}

export function money(value) {
  return value === null || value === undefined ? "—" : `¥${value}`;
}

// A modal confirmation: resolves with the note typed (or "") when confirmed, null when cancelled.
export function confirmDialog({ title, body = [], confirmText = "确认", danger = false, note = null }) {
  return new Promise((resolve) => {
    const noteInput = note ? h("textarea", { name: "note", rows: 3, placeholder: note, required: true }) : null;
    const error = h("p", { class: "problem", hidden: true });
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-label": title },
      h("h3", {}, title),
      h("div", { class: "dialog-body" }, body),
      noteInput ? h("label", {}, "备注（必填，写入审计日志）", noteInput) : null,
      error,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "secondary", onclick: () => close(null) }, "取消"),
        h("button", { type: "button", class: danger ? "danger" : "primary", onclick: confirmed }, confirmText),
      ),
    );
    function confirmed() {
      const text = noteInput ? noteInput.value.trim() : "";
      if (noteInput && !text) {
        error.textContent = "请填写备注";
        error.hidden = false;
        noteInput.focus();
        return;
      }
      close(text);
    }
    function close(value) {
      dialog.close();
      dialog.remove();
      resolve(value);
    }
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A bar chart as inline SVG: series [{ label, value }], values as numbers; labels under the bars.
export function barChart(series, { title = "", unit = "", height = 220 } = {}) {
  const width = Math.max(320, series.length * 36 + 60);
  const top = 20;
  const bottom = 40;
  const left = 56;
  const plot = height - top - bottom;
  const max = Math.max(1, ...series.map((s) => s.value));
  const step = (width - left - 10) / Math.max(1, series.length);
  const bar = Math.max(4, step * 0.6);
  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": title,
    preserveAspectRatio: "xMinYMin meet",
  });
  chart.append(svg("title", {}, title));
  for (let i = 0; i <= 4; i += 1) {
    const y = top + plot - (plot * i) / 4;
    chart.append(svg("line", { x1: left, x2: width - 5, y1: y, y2: y, class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, short((max * i) / 4)));
  }
  series.forEach((s, i) => {
    const x = left + i * step + (step - bar) / 2;
    const barHeight = (plot * s.value) / max;
    const rect = svg("rect", { x, y: top + plot - barHeight, width: bar, height: Math.max(0, barHeight), class: "bar" });
    rect.append(svg("title", {}, `${s.label}: ${s.shown ?? s.value}${unit}`));
    chart.append(rect);
    if (series.length <= 16 || i % Math.ceil(series.length / 16) === 0) {
      chart.append(svg("text", { x: x + bar / 2, y: height - bottom + 16, class: "axis", "text-anchor": "middle" }, s.label));
    }
  });
  return h("figure", { class: "chart-figure" }, chart, title ? h("figcaption", {}, title) : null);
}

function short(value) {
  if (value >= 10000) return `${(value / 10000).toFixed(1)}万`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
