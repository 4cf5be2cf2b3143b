/* Tandem front-end behaviour.
 * Plain JavaScript, loaded with `defer`. No inline handlers are needed anywhere
 * (the site runs under a strict Content-Security-Policy): everything is wired
 * through data-* attributes with delegated listeners, so it keeps working for
 * content swapped in by htmx.
 *
 *   [data-sidebar-toggle]        toggles #sidebar[data-open] + aria-expanded
 *   [data-sidebar-close]         closes the sidebar (backdrop); Escape too
 *   button[data-copy-target=SEL] copies the target's text, label -> "Copied"
 *   form[data-confirm=TEXT]      confirm(TEXT) before submitting
 *   [data-autodismiss]           alert fades out after 6 s (or data-autodismiss="ms")
 *   canvas[data-chart=ID]        new Chart(canvas, JSON of <script type="application/json" id=ID>)
 */
(function () {
  "use strict";

  var MOBILE = window.matchMedia ? window.matchMedia("(max-width: 899.98px)") : null;
  var lastToggle = null;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) {
    root = root || document;
    var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(sel) : []);
    if (root.matches && root.matches(sel)) found.unshift(root);
    return found;
  }

  /* ---- Live region for screen-reader announcements ---------------------- */
  function announce(text) {
    var region = document.getElementById("tandem-live");
    if (!region) {
      region = document.createElement("div");
      region.id = "tandem-live";
      region.className = "sr-only";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  /* ---- Sidebar (off-canvas below 900px) ---------------------------------- */
  function sidebar() { return document.getElementById("sidebar"); }

  function setSidebar(open, opts) {
    var sb = sidebar();
    if (!sb) return;
    sb.setAttribute("data-open", open ? "true" : "false");
    document.body.classList.toggle("sidebar-open", open);
    $all("[data-sidebar-toggle]").forEach(function (btn) {
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      btn.setAttribute("aria-label", open ? "Close menu" : "Open menu");
    });
    if (open) {
      var first = sb.querySelector(".nav-link.is-active") || sb.querySelector(".nav-link") || sb.querySelector("a, button");
      if (first && MOBILE && MOBILE.matches) first.focus({ preventScroll: true });
    } else if (opts && opts.restoreFocus && lastToggle && document.contains(lastToggle)) {
      lastToggle.focus();
    }
  }

  function isSidebarOpen() {
    var sb = sidebar();
    return !!sb && sb.getAttribute("data-open") === "true";
  }

  document.addEventListener("click", function (e) {
    var toggle = e.target.closest("[data-sidebar-toggle]");
    if (toggle) {
      e.preventDefault();
      lastToggle = toggle;
      setSidebar(!isSidebarOpen());
      return;
    }
    if (e.target.closest("[data-sidebar-close]")) {
      e.preventDefault();
      setSidebar(false, { restoreFocus: true });
      return;
    }
    // Following a link inside the open off-canvas menu closes it.
    if (isSidebarOpen() && MOBILE && MOBILE.matches && e.target.closest("#sidebar a[href]")) {
      setSidebar(false);
    }
  });

  document.addEventListener("keydown", function (e) {
    if ((e.key === "Escape" || e.key === "Esc") && isSidebarOpen()) {
      setSidebar(false, { restoreFocus: true });
    }
  });

  if (MOBILE) {
    var onChange = function () { if (!MOBILE.matches && isSidebarOpen()) setSidebar(false); };
    if (MOBILE.addEventListener) MOBILE.addEventListener("change", onChange);
    else if (MOBILE.addListener) MOBILE.addListener(onChange);
  }

  /* ---- Copy to clipboard ------------------------------------------------- */
  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "sr-only";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    document.body.removeChild(ta);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest("button[data-copy-target]");
    if (!btn) return;
    e.preventDefault();
    var target;
    try { target = document.querySelector(btn.getAttribute("data-copy-target")); } catch (err) { target = null; }
    if (!target) return;
    var text = (target.tagName === "INPUT" || target.tagName === "TEXTAREA") ? target.value : target.textContent;
    text = (text || "").trim();
    if (!btn.hasAttribute("data-copy-label")) btn.setAttribute("data-copy-label", btn.textContent);
    var original = btn.getAttribute("data-copy-label");
    copyText(text).then(function () {
      btn.textContent = "Copied";
      btn.classList.add("is-copied");
      announce("Copied to clipboard");
    }, function () {
      btn.textContent = "Press Ctrl+C";
      var range = document.createRange();
      range.selectNodeContents(target);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }).then(function () {
      window.clearTimeout(btn._tandemCopyTimer);
      btn._tandemCopyTimer = window.setTimeout(function () {
        btn.textContent = original;
        btn.classList.remove("is-copied");
      }, 2000);
    });
  });

  /* ---- Confirm before submit -------------------------------------------- */
  // Capture phase on document runs before htmx's own listener on the form,
  // so cancelling here also stops htmx-driven submissions.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    var submitter = e.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!message) return;
    if (!window.confirm(message)) {
      e.preventDefault();
      e.stopPropagation();
      if (e.stopImmediatePropagation) e.stopImmediatePropagation();
    }
  }, true);

  /* ---- Auto-dismissing alerts ------------------------------------------- */
  function scheduleDismiss(el) {
    if (el._tandemDismiss) return;
    var delay = parseInt(el.getAttribute("data-autodismiss"), 10);
    if (!(delay > 0)) delay = 6000;
    el._tandemDismiss = true;
    var attempt = function () {
      if (!document.contains(el)) return;
      // Do not pull the message away while the user is reading or interacting with it.
      if (el.matches(":hover") || el.contains(document.activeElement)) {
        window.setTimeout(attempt, 2000);
        return;
      }
      el.classList.add("is-dismissing");
      window.setTimeout(function () {
        var parent = el.parentNode;
        if (parent) parent.removeChild(el);
      }, 450);
    };
    window.setTimeout(attempt, delay);
  }

  function initAlerts(root) { $all("[data-autodismiss]", root).forEach(scheduleDismiss); }

  /* ---- Charts (Chart.js, optional) -------------------------------------- */
  var chartDefaultsApplied = false;

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name);
    return (v && v.trim()) || fallback;
  }

  function palette() {
    var fallbacks = ["#4f46e5", "#0e9384", "#f79009", "#e31b54", "#7a5af8", "#2e90fa"];
    return fallbacks.map(function (fb, i) { return cssVar("--chart-" + (i + 1), fb); });
  }

  function alpha(hex, a) {
    var m = /^#?([0-9a-f]{6})$/i.exec(hex);
    if (!m) return hex;
    var n = parseInt(m[1], 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  function applyChartDefaults(Chart) {
    if (chartDefaultsApplied) return;
    chartDefaultsApplied = true;
    var d = Chart.defaults;
    d.font.family = cssVar("--font-sans", d.font.family);
    d.font.size = 12;
    d.color = cssVar("--text-muted", "#5a6474");
    d.borderColor = cssVar("--gray-100", "#f1f3f6");
    d.maintainAspectRatio = false;
    d.responsive = true;
    if (d.plugins && d.plugins.legend) {
      d.plugins.legend.labels.usePointStyle = true;
      d.plugins.legend.labels.boxWidth = 8;
      d.plugins.legend.labels.boxHeight = 8;
      d.plugins.legend.labels.padding = 16;
    }
    if (d.plugins && d.plugins.tooltip) {
      var t = d.plugins.tooltip;
      t.backgroundColor = cssVar("--gray-900", "#101828");
      t.padding = 10;
      t.cornerRadius = 8;
      t.boxPadding = 4;
      t.usePointStyle = true;
    }
    if (d.elements) {
      if (d.elements.line) { d.elements.line.tension = 0.35; d.elements.line.borderWidth = 2; }
      if (d.elements.point) { d.elements.point.radius = 0; d.elements.point.hoverRadius = 4; d.elements.point.hitRadius = 8; }
      if (d.elements.bar) { d.elements.bar.borderRadius = 4; }
      if (d.elements.arc) { d.elements.arc.borderWidth = 2; d.elements.arc.borderColor = "#fff"; }
    }
  }

  function colourDatasets(config) {
    var data = config.data || {};
    var sets = data.datasets || [];
    var colours = palette();
    var type = config.type || "bar";
    sets.forEach(function (ds, i) {
      var t = ds.type || type;
      var c = colours[i % colours.length];
      if (t === "doughnut" || t === "pie" || t === "polarArea") {
        if (ds.backgroundColor === undefined) {
          var n = (ds.data || []).length;
          ds.backgroundColor = [];
          for (var k = 0; k < n; k++) ds.backgroundColor.push(colours[k % colours.length]);
        }
        return;
      }
      if (ds.borderColor === undefined) ds.borderColor = c;
      if (ds.backgroundColor === undefined) ds.backgroundColor = (t === "line" || t === "radar") ? alpha(c, 0.12) : c;
      if (t === "line" && ds.pointBackgroundColor === undefined) ds.pointBackgroundColor = c;
    });
  }

  function ensureChartBox(canvas) {
    var parent = canvas.parentElement;
    if (!parent || parent.classList.contains("chart-box")) return;
    var box = document.createElement("div");
    box.className = "chart-box";
    parent.insertBefore(box, canvas);
    box.appendChild(canvas);
  }

  function initCharts(root) {
    var Chart = window.Chart;
    if (!Chart) return;
    applyChartDefaults(Chart);
    $all("canvas[data-chart]", root).forEach(function (canvas) {
      if (Chart.getChart && Chart.getChart(canvas)) return;
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      var config;
      try { config = JSON.parse(source.textContent); } catch (err) {
        if (window.console) console.error("Tandem: invalid chart JSON in #" + source.id, err);
        return;
      }
      config.options = config.options || {};
      if (config.options.maintainAspectRatio === undefined) config.options.maintainAspectRatio = false;
      if (config.options.responsive === undefined) config.options.responsive = true;
      colourDatasets(config);
      ensureChartBox(canvas);
      try { new Chart(canvas, config); } catch (err) {
        if (window.console) console.error("Tandem: could not draw chart", err);
      }
    });
  }

  function destroyCharts(root) {
    var Chart = window.Chart;
    if (!Chart || !Chart.getChart || !root) return;
    $all("canvas[data-chart]", root).forEach(function (canvas) {
      var chart = Chart.getChart(canvas);
      if (chart) chart.destroy();
    });
  }

  /* ---- Initialisation & htmx integration -------------------------------- */
  function init(root) {
    root = root || document;
    initAlerts(root);
    initCharts(root);
  }

  function swappedRoot(e) {
    var d = e.detail || {};
    var el = d.elt || d.target;
    return (el && document.contains(el)) ? el : document;
  }

  document.addEventListener("htmx:afterSwap", function (e) { init(swappedRoot(e)); });
  document.addEventListener("htmx:load", function (e) { init(swappedRoot(e)); });
  document.addEventListener("htmx:beforeCleanupElement", function (e) {
    var el = e.detail && e.detail.elt;
    if (el && el.tagName === "CANVAS") destroyCharts(el);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); setSidebar(false); });
  } else {
    init(document);
    setSidebar(false);
  }
})();
