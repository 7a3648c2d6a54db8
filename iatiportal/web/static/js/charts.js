// Charts drawn with Observable Plot from the JSON that the server embedded beside each table
// (iatiportal/web/charts.py). This file only reshapes those rows; it computes no figure. Money is
// never added across currencies: one panel per currency.
(function () {
  "use strict";

  // The theme's series colours (site.css --chart-1...6: the brand colour, then Okabe & Ito's
  // colour-blind-safe palette, each 3:1 against white or more); these are the fallbacks.
  const theme = window.iatiportalTheme ? window.iatiportalTheme.colour : (name, fallback) => fallback;
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#555555", "#882255"]
    .map((fallback, i) => theme(`--chart-${i + 1}`, fallback));
  const lang = document.documentElement.lang || "en";
  // Right to left (Arabic): time still runs left to right, as in most Arabic charts, so the
  // year axes and the value axis beside them stay as they are; bar charts of names mirror
  // (names on the right, where a line starts, bars growing leftwards). The SVG itself is laid
  // out left to right (site.css), each label keeping its own direction.
  const rtl = document.documentElement.dir === "rtl";

  function compact(value, currency) {
    const options = { notation: "compact", maximumFractionDigits: 1 };
    if (currency) {
      try {
        return new Intl.NumberFormat(lang, { ...options, style: "currency", currency }).format(value);
      } catch (e) {
        // A currency code that Intl does not know: the number and the code.
        return new Intl.NumberFormat(lang, options).format(value) + " " + currency;
      }
    }
    return new Intl.NumberFormat(lang, options).format(value);
  }

  function groupsOf(rows) {
    return [...new Set(rows.map((r) => r.group))];
  }

  function panels(spec) {
    const out = new Map();
    for (const row of spec.rows) {
      const key = row.currency || "";
      if (!out.has(key)) out.set(key, []);
      out.get(key).push(row);
    }
    return out;
  }

  // About the width of a character of the chart's type (--chart-font-size, 14px): 0.6em.
  const CHAR = 8.5;

  function short(text, most = 30) {
    const s = String(text);
    const fit = Math.max(6, Math.min(30, Math.floor(most)));
    return s.length > fit ? s.slice(0, fit - 1) + "…" : s;
  }

  // How wide the longest value label is (French "1,6 M $US" is wider than English "$1.6M"):
  // the labels of the nice ticks up to the largest value (of a stack, its sum).
  function labelsWidth(rows, tick) {
    const sums = d3.rollup(rows, (v) => d3.sum(v, (r) => r.value), (r) => r.x);
    const top = Math.max(0, ...sums.values());
    const labels = d3.scaleLinear().domain([0, top]).nice().ticks(8).map((v) => tick(v).length);
    return Math.max(...labels) * CHAR;
  }

  function plot(spec, rows, currency, width) {
    const groups = groupsOf(spec.rows);
    const color = { domain: groups, range: PALETTE, legend: groups.length > 1 };
    const valueLabel = currency ? `${spec.value_label} (${currency})` : spec.value_label;
    const tip = (d) => `${d.x}${d.group ? " · " + d.group : ""}: ${d.text}`;
    // On a right-to-left page the ticks carry no currency (the axis' name has it): "500 ألف
    // US$" mixes three directions and, three times longer than "500 ألف", the ticks overlap.
    const tick = (v) => compact(v, rtl ? null : currency);
    // className: site.css styles Plot's charts under our own class name (see draw).
    // The type comes from site.css (.chart-plot: the page's font, --chart-font-size).
    const common = { width, color, className: "chart-plot" };
    if (spec.kind === "hbars") {
      const names = [...new Set(rows.map((r) => r.x))];
      // The names cut to what their margin holds (on the right on right-to-left pages, the
      // bars growing leftwards), and as many value ticks as their labels (longer in French:
      // "500 k $US") leave room for, the last one inside the chart.
      const namesMargin = Math.min(250, width / 2.2);
      const room = labelsWidth(rows, tick);
      const valueMargin = Math.ceil(room / 2);
      const most = Math.max(2, Math.floor((width - namesMargin - valueMargin) / (room + 16)) + 1);
      const top = Math.max(0, ...rows.map((r) => r.value));
      let values = [];
      for (let n = most; n >= 1; n -= 1) {
        values = d3.ticks(0, top, n); // d3 may give more ticks than asked: fewer until they fit
        if (values.length <= most) break;
      }
      return Plot.plot({
        ...common,
        ...(rtl
          ? { marginRight: namesMargin, marginLeft: valueMargin }
          : { marginLeft: namesMargin, marginRight: valueMargin }),
        marginBottom: 48, // the value labels, and under them the axis' name
        height: 48 + names.length * Math.max(28, groups.length * 14),
        x: {
          label: valueLabel, tickFormat: tick, grid: true, ticks: values, labelOffset: 42, reverse: rtl,
        },
        fy: {
          label: null,
          domain: names,
          tickFormat: (name) => short(name, (namesMargin - 12) / CHAR),
          axis: rtl ? "right" : "left",
        },
        y: { axis: null, domain: groups },
        marks: [
          Plot.barX(rows, { fy: "x", y: "group", x: "value", fill: "group", title: tip }),
          Plot.ruleX([0]),
        ],
      });
    }
    if (spec.kind === "progress") {
      const targets = rows.filter((r) => r.group !== groups[0] || groups.length === 1);
      // One tick a year of the series (a count of ticks gave half years, each year twice), at
      // most one every 48px; the axis' name under them.
      const years = [...new Set(rows.map((r) => r.x))].sort((a, b) => a - b);
      const every = Math.ceil(years.length / Math.max(2, Math.floor(width / 48)));
      return Plot.plot({
        ...common,
        height: 248,
        marginBottom: 48,
        x: {
          label: spec.x_label, tickFormat: "d", labelOffset: 42,
          ticks: years.filter((_, i) => i % every === 0),
        },
        y: { label: valueLabel, grid: true, zero: true },
        marks: [
          Plot.line(targets, { x: "x", y: "value", stroke: "group", sort: "x" }),
          Plot.dot(rows, { x: "x", y: "value", fill: "group", r: 5, symbol: "group", title: tip }),
        ],
      });
    }
    const height = 300;
    // Room for the longest value label and the tick beside it.
    const marginLeft = Math.max(70, Math.ceil(labelsWidth(rows, tick)) + 16);
    if (spec.kind === "stack") {
      return Plot.plot({
        ...common,
        height,
        marginLeft,
        marginBottom: 48,
        x: { label: spec.x_label, type: "band", tickFormat: String, labelOffset: 42 },
        y: { label: valueLabel, tickFormat: tick, grid: true },
        marks: [Plot.barY(rows, { x: "x", y: "value", fill: "group", title: tip }), Plot.ruleY([0])],
      });
    }
    return Plot.plot({
      ...common,
      height,
      marginLeft,
      marginBottom: 48, // room for the year labels and, under them, the axis' name
      fx: { label: spec.x_label, tickFormat: String, labelOffset: 42 },
      x: { axis: null, domain: groups },
      y: { label: valueLabel, tickFormat: tick, grid: true },
      marks: [
        Plot.barY(rows, { fx: "x", x: "group", y: "value", fill: "group", title: tip }),
        Plot.ruleY([0]),
      ],
    });
  }

  function draw(figure, spec) {
    const canvas = figure.querySelector(".chart-canvas");
    const width = Math.max(260, Math.min(canvas.clientWidth || 640, 960));
    canvas.replaceChildren();
    for (const [currency, rows] of panels(spec)) {
      const chart = plot(spec, rows, currency, width);
      // Plot writes its default styles as <style> elements, which the portal's
      // Content-Security-Policy refuses (style-src 'self', issue 10). Removed while the chart
      // is still detached (no violation); site.css holds the same rules for .chart-plot.
      chart.querySelectorAll("style").forEach((style) => style.remove());
      chart.setAttribute("aria-hidden", "true");
      canvas.append(chart);
    }
  }

  function download(name, blob) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  // One standalone SVG of the chart: its title, the colour key, then each currency's panel.
  function standaloneSvg(figure, spec) {
    const ns = "http://www.w3.org/2000/svg";
    // Plot's charts (its colour key is HTML, with one tiny svg per swatch: redrawn below).
    const svgs = [...figure.querySelectorAll(".chart-canvas svg")].filter((s) => s.querySelector("g[aria-label]"));
    const width = Math.max(...svgs.map((s) => s.width.baseVal.value));
    const out = document.createElementNS(ns, "svg");
    out.setAttribute("xmlns", ns);
    const text = (x, y, content, weight) => {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", x);
      t.setAttribute("y", y);
      t.setAttribute("font-family", "sans-serif");
      t.setAttribute("font-size", weight ? "15" : "12");
      if (weight) t.setAttribute("font-weight", weight);
      t.textContent = content;
      out.append(t);
    };
    text(0, 18, spec.title, "bold");
    let y = 30;
    const groups = groupsOf(spec.rows);
    if (groups.length > 1) {
      let x = 0;
      groups.forEach((g, i) => {
        const r = document.createElementNS(ns, "rect");
        Object.entries({ x, y, width: 12, height: 12, fill: PALETTE[i % PALETTE.length] }).forEach(([k, v]) => r.setAttribute(k, v));
        out.append(r);
        text(x + 16, y + 11, g);
        x += 28 + 7 * String(g).length;
        if (x > width - 120) { x = 0; y += 18; }
      });
      y += 24;
    }
    for (const svg of svgs) {
      const copy = svg.cloneNode(true);
      copy.setAttribute("y", y);
      copy.removeAttribute("aria-hidden");
      out.append(copy);
      y += svg.height.baseVal.value + 8;
    }
    out.setAttribute("width", width);
    out.setAttribute("height", y);
    out.setAttribute("viewBox", `0 0 ${width} ${y}`);
    return out;
  }

  function csv(spec) {
    const quote = (v) => (v === null || v === undefined ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const hasGroup = !!spec.group_label || groupsOf(spec.rows).length > 1;
    const hasCurrency = spec.rows.some((r) => r.currency);
    const header = [spec.x_label || "", ...(hasGroup ? [spec.group_label || ""] : []), ...(hasCurrency ? [spec.currency_label] : []), spec.value_label];
    const lines = spec.rows.map((r) => [r.x, ...(hasGroup ? [r.group] : []), ...(hasCurrency ? [r.currency] : []), r.value]);
    return [header, ...lines].map((l) => l.map(quote).join(",")).join("\r\n") + "\r\n";
  }

  function save(figure, spec, kind) {
    const name = `iatiportal-${spec.id}`;
    if (kind === "csv") {
      download(`${name}.csv`, new Blob(["\ufeff" + csv(spec)], { type: "text/csv;charset=utf-8" }));
      return;
    }
    const svg = standaloneSvg(figure, spec);
    const source = new XMLSerializer().serializeToString(svg);
    if (kind === "svg") {
      download(`${name}.svg`, new Blob([source], { type: "image/svg+xml" }));
      return;
    }
    const image = new Image();
    image.onload = () => {
      const scale = 2;
      const canvas = document.createElement("canvas");
      canvas.width = svg.width.baseVal.value * scale;
      canvas.height = svg.height.baseVal.value * scale;
      const context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => download(`${name}.png`, blob), "image/png");
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(source);
  }

  function setUp(figure) {
    const spec = JSON.parse(figure.querySelector(".chart-data").textContent);
    const toggle = document.querySelector(`.view-toggle button[data-chart="${figure.id}"]`);
    figure.hidden = false;
    draw(figure, spec);
    figure.dataset.drawn = "true";
    figure.querySelectorAll("button[data-save]").forEach((b) => b.addEventListener("click", () => save(figure, spec, b.dataset.save)));
    if (toggle) {
      const table = document.getElementById(toggle.dataset.table);
      const show = (chart) => {
        toggle.setAttribute("aria-pressed", String(chart));
        figure.hidden = !chart;
        // Not the hidden attribute: print shows the table (site.css), and Pico's [hidden] rule
        // is !important, which no print rule could override.
        if (table) table.toggleAttribute("data-shown-as-chart", chart);
        if (chart) draw(figure, spec);
      };
      toggle.closest(".view-toggle").hidden = false;
      toggle.addEventListener("click", () => show(toggle.getAttribute("aria-pressed") !== "true"));
      show(true);
    }
    let width = window.innerWidth;
    // A section of the page shown (site.js): a chart drawn while hidden had no width to fit.
    document.addEventListener("iatiportal:shown", (event) => {
      if (event.target.contains(figure) && !figure.hidden) draw(figure, spec);
    });
    window.addEventListener("resize", () => {
      if (window.innerWidth !== width && !figure.hidden) {
        width = window.innerWidth;
        draw(figure, spec);
      }
    });
  }

  function start() {
    if (typeof Plot === "undefined") return; // the library is missing: the tables stay
    document.querySelectorAll("figure[data-chart]").forEach(setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
