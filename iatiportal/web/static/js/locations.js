// Maps of located places (IATI location points) on country and activity pages, from the JSON
// that the server embedded beside the places' table (iatiportal/web/charts.py location_map).
// The country is outlined where the atlas has it; each place is a dot that hover and keyboard
// focus describe, and that links to its activity when it has one.
(function () {
  "use strict";

  const NS = "http://www.w3.org/2000/svg";
  const lang = document.documentElement.lang || "en";
  const suffix = lang === "en" ? "" : "?lang=" + encodeURIComponent(lang);

  function describe(place) {
    const names = place.names.length ? place.names.join(" · ") : `${place.lat}, ${place.lon}`;
    return `${names}: ${place.activities.join(", ")}`;
  }

  function draw(figure, spec, world) {
    const canvas = figure.querySelector(".map-canvas");
    const status = figure.querySelector(".map-details");
    const resting = status.textContent;
    const width = 640;
    const height = 400;
    const shapes = topojson.feature(world, world.objects.countries).features;
    const outline = spec.country_numeric ? shapes.find((f) => f.id === spec.country_numeric) : null;
    const points = { type: "MultiPoint", coordinates: spec.points.map((p) => [p.lon, p.lat]) };
    // The country outlined: the page's, else (an activity's map) the countries its places are
    // in, so that the map shows where they are (fitted to the places alone, two places in one
    // country showed as two dots on a blank sea).
    const around = outline ? [outline]
      : shapes.filter((s) => spec.points.some((p) => d3.geoContains(s, [p.lon, p.lat])));
    const projection = d3.geoMercator();
    if (around.length) {
      projection.fitExtent([[16, 16], [width - 16, height - 16]], {
        type: "FeatureCollection",
        features: [...around, { type: "Feature", geometry: points, properties: {} }],
      });
    } else if (spec.points.length > 1) {
      projection.fitExtent([[40, 40], [width - 40, height - 40]], points);
      if (projection.scale() > 20000) projection.scale(20000); // places a few metres apart
    } else {
      const [only] = spec.points;
      projection.scale(1500).center([only.lon, only.lat]).translate([width / 2, height / 2]);
    }
    const path = d3.geoPath(projection);
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "map");
    const land = document.createElementNS(NS, "g");
    land.setAttribute("aria-hidden", "true");
    for (const shape of shapes) {
      const d = path(shape);
      if (!d) continue;
      const p = document.createElementNS(NS, "path");
      p.setAttribute("d", d);
      p.setAttribute("class", around.includes(shape) ? "land focus-country" : "land");
      land.append(p);
    }
    svg.append(land);
    for (const place of spec.points) {
      const [x, y] = projection([place.lon, place.lat]);
      const label = describe(place);
      const dot = document.createElementNS(NS, "circle");
      dot.setAttribute("cx", x.toFixed(1));
      dot.setAttribute("cy", y.toFixed(1));
      dot.setAttribute("r", "6");
      dot.setAttribute("class", "place");
      let target = dot;
      if (place.activities.length === 1) {
        target = document.createElementNS(NS, "a");
        target.setAttribute("href", "/activities/" + encodeURIComponent(place.activities[0]) + suffix);
        target.append(dot);
      } else {
        dot.setAttribute("tabindex", "0");
        dot.setAttribute("role", "img"); // a place of several activities: described, not a link
      }
      target.setAttribute("aria-label", label);
      const show = () => { status.textContent = label; dot.classList.add("active"); };
      const hide = () => { status.textContent = resting; dot.classList.remove("active"); };
      target.addEventListener("mouseenter", show);
      target.addEventListener("focus", show);
      target.addEventListener("mouseleave", hide);
      target.addEventListener("blur", hide);
      svg.append(target);
    }
    canvas.replaceChildren(svg);
    figure.hidden = false;
    figure.dataset.drawn = "true";
  }

  const figures = document.querySelectorAll("figure[data-locations]");
  if (!figures.length || typeof d3 === "undefined" || typeof topojson === "undefined") return;
  const atlas = figures[0].dataset.atlas;
  fetch(atlas)
    .then((response) => response.json())
    .then((world) => {
      for (const figure of figures) {
        const spec = JSON.parse(figure.querySelector("script.location-data").textContent);
        draw(figure, spec, world);
      }
    })
    .catch((error) => console.warn("location map:", error));
})();
