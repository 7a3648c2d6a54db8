// The flow of funds (a Sankey diagram laid out by d3-sankey) from the JSON that the server
// embedded beside its table (iatiportal/web/charts.py flow_diagram). The figures are the
// server's (each link's and node's "text"); this file only lays them out. One diagram per
// currency. Every node and link is focusable, named by its figure (aria-label and <title>), and
// named again in the status line under the diagram when pointed at or focused. Below 640 px the
// diagram keeps 640 px and its box scrolls sideways (a keyboard-focusable region). On a
// right-to-left page the money flows from right to left (the layout is mirrored; each label
// keeps its own direction).
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const theme = window.iatiportalTheme ? window.iatiportalTheme.colour : (name, fallback) => fallback;
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#555555", "#882255"]
    .map((fallback, i) => theme(`--chart-${i + 1}`, fallback));
  const rtl = document.documentElement.dir === "rtl";
  const MIN_WIDTH = 640;
  const CHAR = 7.5; // about the width of a character of the labels (13px type)

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (all, key) => (key in values ? values[key] : all));
  }

  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (parent) parent.append(node);
    return node;
  }

  function titled(node, text) {
    node.setAttribute("aria-label", text);
    el("title", {}, node).textContent = text;
  }

  function short(text, most) {
    const s = String(text);
    const fit = Math.max(8, Math.floor(most));
    return s.length > fit ? s.slice(0, fit - 1) + "…" : s;
  }

  function panel(spec, data, width, details) {
    const columns = new Map();
    // The tallest column sets the height: 56 px a node at least. The padding between nodes
    // holds a label's two lines, so that small flows' labels (a partner paid little beside
    // one paid much) do not overlap.
    for (const link of data.links) {
      columns.set(link.source, 0);
      columns.set(link.target, 2);
    }
    columns.set("home", 1);
    const counts = [0, 0, 0];
    for (const column of columns.values()) counts[column] += 1;
    const height = Math.max(200, Math.max(...counts) * 56 + 20);
    const label = Math.min(200, width * 0.28); // room for the labels on each side
    const layout = d3.sankey()
      .nodeId((d) => d.id)
      .nodeAlign(d3.sankeyJustify)
      .nodeWidth(16)
      .nodePadding(32)
      .nodeSort(null)
      .extent([[label, 10], [width - label, height - 10]]);
    const graph = layout({
      nodes: data.nodes.map((d) => ({ ...d })),
      links: data.links.map((d) => ({ ...d })),
    });
    const x = (v) => (rtl ? width - v : v);
    const svg = el("svg", {
      class: "flow-svg",
      viewBox: `0 0 ${width} ${height}`,
      width: String(width),
      height: String(height),
      role: "group",
      "aria-label": data.currency ? `${spec.summary} (${data.currency})` : spec.summary,
    });
    // Its own size (a stylesheet rule of the page would fit it to the box: it scrolls instead).
    svg.style.width = `${width}px`;
    svg.style.height = `${height}px`;
    svg.style.overflow = "visible"; // the focus outline of a node at the edge is not cut
    const colours = new Map();
    graph.nodes.forEach((node, i) => colours.set(node.id, PALETTE[i % PALETTE.length]));
    const say = (text) => { details.textContent = text; };

    const links = el("g", { class: "flow-links", fill: "none" }, svg);
    for (const link of graph.links) {
      const x0 = x(link.source.x1);
      const x1 = x(link.target.x0);
      const mid = (x0 + x1) / 2;
      const path = el("path", {
        class: "flow-link",
        d: `M${x0},${link.y0}C${mid},${link.y0} ${mid},${link.y1} ${x1},${link.y1}`,
        stroke: colours.get(link.source.id === "home" ? link.target.id : link.source.id),
        "stroke-width": String(Math.max(1, link.width)),
        tabindex: "0",
        role: "img",
      }, links);
      const text = fill(spec.link_label, { source: link.source_name, target: link.target_name, amount: link.text });
      titled(path, text);
      path.addEventListener("focus", () => say(text));
      path.addEventListener("pointerenter", () => say(text));
    }

    const nodes = el("g", { class: "flow-nodes" }, svg);
    for (const node of graph.nodes) {
      const left = Math.min(x(node.x0), x(node.x1));
      const group = el("g", { class: "flow-node", tabindex: "0", role: "img" }, nodes);
      el("rect", {
        x: String(left),
        y: String(node.y0),
        width: String(node.x1 - node.x0),
        height: String(Math.max(1, node.y1 - node.y0)),
        fill: colours.get(node.id),
        stroke: "#333",
      }, group);
      const text = fill(spec.node_label, { name: node.name, amount: node.text });
      titled(group, text);
      group.addEventListener("focus", () => say(text));
      group.addEventListener("pointerenter", () => say(text));
      // Labels outside the diagram's middle: funders before their node, the rest after it;
      // the home publisher's in the middle column, after its node.
      const first = node.depth === 0;
      const start = rtl ? !first : first;
      const tx = start ? left - 6 : left + (node.x1 - node.x0) + 6;
      const room = node.id === "home" ? (width - 2 * label) / 2 - 12 : label - 10;
      const words = el("text", {
        x: String(tx),
        y: String((node.y0 + node.y1) / 2),
        "text-anchor": start ? "end" : "start",
        "aria-hidden": "true",
      }, group);
      el("tspan", { x: String(tx), dy: "-0.2em", class: "flow-name" }, words).textContent = short(node.name, room / CHAR);
      el("tspan", { x: String(tx), dy: "1.2em", class: "flow-amount" }, words).textContent = node.text;
    }
    return svg;
  }

  function draw(figure, spec) {
    const canvas = figure.querySelector(".flow-canvas");
    const details = figure.querySelector(".flow-details");
    const width = Math.max(MIN_WIDTH, canvas.clientWidth || MIN_WIDTH);
    canvas.replaceChildren();
    for (const data of spec.panels) {
      if (spec.panels.length > 1 && data.currency) {
        const heading = document.createElement("p");
        heading.className = "flow-currency";
        heading.textContent = data.currency;
        canvas.append(heading);
      }
      canvas.append(panel(spec, data, width, details));
    }
  }

  function setUp(figure) {
    const spec = JSON.parse(figure.querySelector(".flow-data").textContent);
    figure.hidden = false;
    draw(figure, spec);
    figure.dataset.drawn = "true";
    let width = window.innerWidth;
    window.addEventListener("resize", () => {
      if (window.innerWidth !== width) {
        width = window.innerWidth;
        draw(figure, spec);
      }
    });
  }

  function start() {
    if (typeof d3 === "undefined" || typeof d3.sankey !== "function") return; // the table stays
    document.querySelectorAll("figure[data-flows]").forEach(setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
