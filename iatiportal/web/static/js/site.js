// iatiportal's page enhancements: every one of them is optional, the pages work without it.
// - the menu: a <details> that is a "Menu" button on phones, opened on wide screens;
// - selector forms marked data-autosubmit reload the page when a choice is made (their
//   "Show" button is for pages without JavaScript); a choice made with the arrow keys waits
//   for Enter or for the focus to leave, so that going through the list does not reload it;
// - tabs (role="tablist"): the arrow keys, Home and End move between them (WAI-ARIA tabs
//   pattern, https://www.w3.org/WAI/ARIA/apg/patterns/tabs/); each tab is a link to its page;
//   on a phone, where the strip scrolls sideways, the selected tab is scrolled into view;
// - in-page sections (nav[data-sections], the outcome page): a menu of #anchors without
//   JavaScript, made a tablist that shows one section at a time, the one a link's #anchor
//   points into (a list's page links end in the #heading of their list).
(() => {
  "use strict";
  document.documentElement.classList.add("js");

  // The theme's colours (site.css custom properties, from the profile) as "#rrggbb", for the
  // charts and maps: a probe element resolves var() and color-mix(), and one pixel drawn in
  // that colour reads it back as sRGB bytes, whatever syntax the browser computed it in.
  let pixel = null;
  function colour(name, fallback) {
    const probe = document.createElement("span");
    probe.style.color = `var(${name}, ${fallback})`;
    document.body.append(probe);
    const computed = getComputedStyle(probe).color;
    probe.remove();
    pixel = pixel || document.createElement("canvas").getContext("2d", { willReadFrequently: true });
    if (!pixel) return fallback;
    pixel.clearRect(0, 0, 1, 1);
    pixel.fillStyle = computed;
    pixel.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = pixel.getImageData(0, 0, 1, 1).data;
    if (a === 0) return fallback;
    return "#" + [r, g, b].map((c) => c.toString(16).padStart(2, "0")).join("");
  }
  window.iatiportalTheme = { colour };

  function menu() {
    const details = document.querySelector("details.menu");
    if (!details) return;
    const wide = window.matchMedia("(min-width: 64rem)");
    const follow = () => { details.open = wide.matches; };
    follow();
    wide.addEventListener("change", follow);
  }

  function autosubmit(form) {
    let byKeyboard = false;
    let pending = false;
    const submit = () => { pending = false; form.requestSubmit ? form.requestSubmit() : form.submit(); };
    form.addEventListener("keydown", (event) => {
      if (event.target.tagName !== "SELECT") return;
      if (event.key === "Enter" && pending) { event.preventDefault(); submit(); return; }
      byKeyboard = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]
        .includes(event.key) || event.key.length === 1;
    });
    form.addEventListener("pointerdown", () => { byKeyboard = false; });
    form.addEventListener("change", (event) => {
      if (event.target.tagName !== "SELECT") return;
      if (byKeyboard) { pending = true; return; }
      submit();
    });
    form.addEventListener("focusout", (event) => {
      if (pending && !form.contains(event.relatedTarget)) submit();
    });
  }

  // A tab strip that scrolls sideways (site.css, on phones) shows this tab: centred in the
  // strip, the strip alone scrolled (scrollIntoView would scroll the page to it as well).
  function reveal(list, tab) {
    if (list.scrollWidth <= list.clientWidth) return;
    const box = list.getBoundingClientRect();
    const at = tab.getBoundingClientRect();
    list.scrollLeft += at.left - box.left - (box.width - at.width) / 2;
  }

  function tablist(list) {
    const tabs = [...list.querySelectorAll('[role="tab"]')];
    if (!tabs.length) return;
    const selected = tabs.find((t) => t.getAttribute("aria-selected") === "true") || tabs[0];
    tabs.forEach((t) => t.setAttribute("tabindex", t === selected ? "0" : "-1"));
    reveal(list, selected);
    list.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(document.activeElement);
      if (at < 0) return;
      const rtl = getComputedStyle(list).direction === "rtl";
      const next = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1 }[event.key];
      let to = null;
      if (next !== undefined) to = (at + next + tabs.length) % tabs.length;
      else if (event.key === "Home") to = 0;
      else if (event.key === "End") to = tabs.length - 1;
      else if (event.key === " ") { event.preventDefault(); tabs[at].click(); return; }
      if (to === null) return;
      event.preventDefault();
      tabs[to].focus();
    });
  }

  function sections(nav) {
    const links = [...nav.querySelectorAll("a[data-section]")];
    const panels = links.map((a) => document.getElementById(a.dataset.section));
    if (!links.length || panels.some((p) => !p)) return;
    const list = nav.querySelector("ul");
    list.setAttribute("role", "tablist");
    links.forEach((a, i) => {
      a.parentElement.setAttribute("role", "presentation");
      a.setAttribute("role", "tab");
      a.setAttribute("aria-controls", panels[i].id);
      panels[i].setAttribute("role", "tabpanel");
      // Still labelled by its own heading (a tab's name is the same words), which site.css
      // and the page's tests use.
    });
    const show = (at) => {
      links.forEach((a, i) => {
        const on = i === at;
        a.setAttribute("aria-selected", String(on));
        a.setAttribute("tabindex", on ? "0" : "-1");
        if (on) a.setAttribute("aria-current", "location"); else a.removeAttribute("aria-current");
        panels[i].hidden = !on;
      });
      reveal(list, links[at]);
      // Charts drawn while their section was hidden are drawn again at its width (charts.js).
      panels[at].dispatchEvent(new CustomEvent("iatiportal:shown", { bubbles: true }));
    };
    const fromHash = () => {
      const id = decodeURIComponent(location.hash.slice(1));
      const target = id && document.getElementById(id);
      const at = target ? panels.findIndex((p) => p.contains(target)) : -1;
      return { at, target };
    };
    const follow = () => {
      const { at, target } = fromHash();
      if (at < 0) return false;
      show(at);
      if (target !== panels[at]) target.scrollIntoView();
      return true;
    };
    if (!follow()) show(0);
    window.addEventListener("hashchange", follow);
    links.forEach((a, i) => a.addEventListener("click", (event) => {
      event.preventDefault();
      show(i);
      history.replaceState(null, "", `#${a.dataset.section}`);
    }));
    document.documentElement.classList.add("has-section-tabs");
  }

  // A table wider than a phone scrolls sideways (site.css) inside a scroll region: each table
  // of the page is put in a <div class="table-scroll">, which becomes a region (role="region",
  // tabindex="0", named after the table: its caption, else the heading of its section, else its
  // column headers) while its table is wider than it, so that the keyboard can scroll it and a
  // screen reader says what it is; a table that fits (or is stacked, site.css) stays plain.
  function tableName(table) {
    const caption = table.caption && table.caption.textContent.trim();
    if (caption) return caption;
    const section = table.closest("section");
    const heading = section && section.querySelector("h2, h3");
    if (heading && heading.textContent.trim()) return heading.textContent.trim();
    return [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim()).join(", ");
  }

  function scrollers() {
    const boxes = [...document.querySelectorAll("main table")].map((table) => {
      const box = document.createElement("div");
      box.className = "table-scroll";
      table.before(box);
      box.append(table);
      return box;
    });
    const mark = () => boxes.forEach((box) => {
      if (!box.clientWidth) return; // in a section not shown yet: measured when it is
      if (box.scrollWidth > box.clientWidth) {
        box.setAttribute("role", "region");
        box.setAttribute("tabindex", "0");
        box.setAttribute("aria-label", tableName(box.firstElementChild));
      } else {
        ["role", "tabindex", "aria-label"].forEach((name) => box.removeAttribute(name));
      }
    });
    mark();
    let queued = 0;
    window.addEventListener("resize", () => { cancelAnimationFrame(queued); queued = requestAnimationFrame(mark); });
    // The tables of a section shown after load (sections() below) had no width to measure;
    // the web font, once loaded, changes every table's width.
    document.addEventListener("iatiportal:shown", mark);
    if (document.fonts) document.fonts.ready.then(mark);
  }

  function start() {
    menu();
    scrollers();
    document.querySelectorAll("form[data-autosubmit]").forEach(autosubmit);
    document.querySelectorAll("nav[data-sections]").forEach(sections);
    document.querySelectorAll('[role="tablist"]').forEach(tablist);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
