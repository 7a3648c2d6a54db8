// The world map: countries shaded by the year's expenditure or budget, from the JSON that the
// server embedded beside the countries' table (iatiportal/web/charts.py world_map). Shapes come
// from world-atlas (Natural Earth 1:110m), named by ISO 3166 numeric codes, which the server
// gave each country. Each country with figures is a link: click, Enter, hover and focus work.
(function () {
  "use strict";

  const NS = "http://www.w3.org/2000/svg";
  // Shades of the theme's brand colour, light to dark (site.css --map-1...5, --map-none); the
  // fallbacks are ColorBrewer's YlGnBu.
  const theme = window.iatiportalTheme ? window.iatiportalTheme.colour : (name, fallback) => fallback;
  const COLOURS = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
    .map((fallback, i) => theme(`--map-${i + 1}`, fallback));
  const NO_DATA = theme("--map-none", "#d9d9d9");
  const lang = document.documentElement.lang || "en";
  // On a right-to-left page the legend's ranges carry no currency (its title has it): the bidi
  // algorithm splits "US$" into "$US" in Arabic text (see charts.js).
  const rtl = document.documentElement.dir === "rtl";

  function compact(value, currency) {
    const options = { notation: "compact", maximumFractionDigits: 1 };
    if (rtl) currency = null;
    try {
      return new Intl.NumberFormat(lang, currency ? { ...options, style: "currency", currency } : options).format(value);
    } catch (e) {
      return new Intl.NumberFormat(lang, options).format(value) + (currency ? " " + currency : "");
    }
  }

  function details(spec, c) {
    return `${c.name} · ${spec.measures.expenditure}: ${c.expenditure_text} · ${spec.measures.budget}: ${c.budget_text} (${c.utilisation_text})`;
  }

  function draw(figure, spec, world) {
    const canvas = figure.querySelector(".map-canvas");
    const status = figure.querySelector(".map-details");
    const resting = status.textContent;
    const href = figure.dataset.href;
    const shapes = topojson.feature(world, world.objects.countries).features.filter((f) => f.id !== "010");
    const ids = new Set(shapes.map((f) => f.id));
    const onMap = new Map();
    const missing = [];
    for (const c of spec.countries) {
      if (c.currency === spec.currency && c.iso_numeric && ids.has(c.iso_numeric)) onMap.set(c.iso_numeric, c);
      else missing.push(c);
    }

    const width = 960;
    const height = 470;
    const projection = d3.geoEqualEarth().fitSize([width, height], { type: "Sphere" });
    const path = d3.geoPath(projection);
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "map");
    const land = document.createElementNS(NS, "g");
    land.setAttribute("aria-hidden", "true");
    svg.append(land);
    const links = [];
    for (const shape of shapes) {
      const p = document.createElementNS(NS, "path");
      p.setAttribute("d", path(shape));
      const country = onMap.get(shape.id);
      if (!country) {
        p.setAttribute("class", "land");
        land.append(p);
        continue;
      }
      const a = document.createElementNS(NS, "a");
      a.setAttribute("href", href.replace("/XX", "/" + country.iso2));
      a.setAttribute("class", "country");
      a.setAttribute("aria-label", details(spec, country));
      a.dataset.iso2 = country.iso2;
      a.append(p);
      const show = () => { status.textContent = details(spec, country); a.classList.add("active"); };
      const hide = () => { status.textContent = resting; a.classList.remove("active"); };
      a.addEventListener("mouseenter", show);
      a.addEventListener("focus", show);
      a.addEventListener("mouseleave", hide);
      a.addEventListener("blur", hide);
      links.push([a, p, country]);
    }
    // Countries with figures last, in name order: drawn on top, and Tab visits them by name.
    links.sort((x, y) => x[2].name.localeCompare(y[2].name, lang));
    links.forEach(([a]) => svg.append(a));
    canvas.replaceChildren(svg);

    const legend = figure.querySelector(".map-legend");
    const shade = (measure) => {
      const values = links.map(([, , c]) => c[measure]).filter((v) => v !== null && v > 0);
      const top = values.length ? d3.max(values) : 1;
      const scale = d3.scaleQuantize().domain([0, top]).nice().range(COLOURS);
      links.forEach(([a, p, c]) => {
        const v = c[measure];
        p.setAttribute("fill", v === null || v <= 0 ? NO_DATA : scale(v));
        a.dataset.value = v === null ? "" : String(v);
      });
      const item = (colour, text) => {
        const li = document.createElement("li");
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = colour;
        li.append(swatch, document.createTextNode(text));
        return li;
      };
      const title = document.createElement("p");
      title.textContent = `${spec.measures[measure]}${spec.year ? " " + spec.year : ""} (${spec.currency})`;
      const list = document.createElement("ul");
      for (const colour of scale.range()) {
        const [low, high] = scale.invertExtent(colour);
        list.append(item(colour, `${compact(low, spec.currency)} – ${compact(high, spec.currency)}`));
      }
      list.append(item(NO_DATA, spec.no_data));
      legend.replaceChildren(title, list);
      figure.dataset.measure = measure;
    };
    figure.querySelectorAll(".map-measure input").forEach((input) => input.addEventListener("change", () => shade(input.value)));
    shade(figure.querySelector(".map-measure input:checked").value);

    if (missing.length) {
      const box = figure.querySelector(".map-missing");
      const list = box.querySelector("ul");
      for (const c of missing) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = href.replace("/XX", "/" + c.iso2);
        a.textContent = c.name;
        li.append(a, document.createTextNode(`: ${spec.measures.expenditure} ${c.expenditure_text} · ${spec.measures.budget} ${c.budget_text}`));
        li.dataset.iso2 = c.iso2;
        list.append(li);
      }
      box.hidden = false;
    }
    figure.dataset.drawn = "true";
  }

  function start() {
    if (typeof d3 === "undefined" || typeof topojson === "undefined") return; // tables only
    document.querySelectorAll("figure[data-map]").forEach((figure) => {
      const spec = JSON.parse(figure.querySelector(".map-data").textContent);
      figure.hidden = false;
      fetch(figure.dataset.atlas)
        .then((response) => {
          if (!response.ok) throw new Error(`${figure.dataset.atlas}: HTTP ${response.status}`);
          return response.json();
        })
        .then((world) => draw(figure, spec, world))
        .catch((error) => {
          figure.hidden = true; // the table beside it has the figures
          console.warn("map not drawn:", error);
        });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
