/**
 * The pages' only script besides htmx, served as /static/dashboard.js. It is a string
 * so that it ships inside the compiled package (the build copies only TypeScript)
 * and it stays tiny: everything else is server-rendered partials.
 * - shows a banner while redlet does not answer (polls fail), hides it when they work;
 * - keeps the open function's row marked across refreshes of the table;
 * - keeps the scroll position of the detail's logs, output and env across refreshes;
 * - brings the detail panel into view on narrow screens when it opens;
 * - puts the open function in the URL (?fn=name), so a detail can be shared and
 *   survives a reload (the server renders it from the query);
 * - shows a chart's value under the pointer (hover, or tap on a phone), read from the
 *   points the chart carries in data attributes;
 * - keeps "(3 s ago)" counting every second, also after redlet stops answering.
 * Styles are set through the CSSOM only (the strict CSP forbids inline style attributes).
 */
export const DASHBOARD_CLIENT_JS = `(function () {
  'use strict';
  var selected = null;
  function banner(lost) {
    var el = document.getElementById('connection');
    if (el) el.hidden = !lost;
  }
  function mark() {
    var rows = document.querySelectorAll('#function-rows tr[data-name]');
    for (var i = 0; i < rows.length; i++) {
      rows[i].setAttribute('aria-selected', String(rows[i].getAttribute('data-name') === selected));
    }
  }
  document.addEventListener('htmx:sendError', function () { banner(true); });
  document.addEventListener('htmx:afterRequest', function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status > 0) banner(false);
  });
  document.addEventListener('htmx:beforeRequest', function (e) {
    var elt = e.detail && e.detail.elt;
    if (elt && elt.matches && elt.matches('#function-rows tr[data-name]')) {
      selected = elt.getAttribute('data-name');
      mark();
      var url = new URL(window.location.href);
      if (url.searchParams.get('fn') !== selected) {
        url.searchParams.set('fn', selected);
        window.history.pushState({ fn: selected }, '', url.pathname + url.search);
      }
    }
  });
  window.addEventListener('popstate', function () { window.location.reload(); });

  // The value under the pointer.
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function clock(ms) { var d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); }
  function fmt(v) {
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(2);
    if (Math.round(v) === v) return String(v);
    return a >= 100 ? v.toFixed(1) : v.toFixed(2);
  }
  function readOut(fig, clientX) {
    var frame = fig.querySelector('.chart-frame');
    var tip = fig.querySelector('.chart-tip');
    var cursor = fig.querySelector('.cursor');
    if (!frame || !tip) return;
    var ts = (fig.getAttribute('data-t') || '').split(',');
    var vs = (fig.getAttribute('data-v') || '').split(',');
    var from = Number(fig.getAttribute('data-from'));
    var span = Number(fig.getAttribute('data-span'));
    var box = frame.getBoundingClientRect();
    var ratio = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    var at = ratio * span / 1000;
    var best = -1, bestD = Infinity;
    for (var i = 0; i < ts.length; i++) {
      if (ts[i] === '' || vs[i] === '' || vs[i] === undefined) continue;
      var d = Math.abs(Number(ts[i]) - at);
      if (d < bestD) { bestD = d; best = i; }
    }
    if (best < 0) { hideTip(fig); return; }
    var t = Number(ts[best]);
    tip.textContent = fmt(Number(vs[best])) + (fig.getAttribute('data-unit') || '') + ' at ' + clock(from + t * 1000);
    tip.hidden = false;
    var x = (t * 1000 / span) * box.width;
    tip.style.left = Math.min(Math.max(0, x - tip.offsetWidth / 2), Math.max(0, box.width - tip.offsetWidth)) + 'px';
    if (cursor) {
      var vx = String((t * 1000 / span) * 300);
      cursor.setAttribute('x1', vx); cursor.setAttribute('x2', vx); cursor.setAttribute('visibility', 'visible');
    }
  }
  function hideTip(fig) {
    var tip = fig.querySelector('.chart-tip');
    var cursor = fig.querySelector('.cursor');
    if (tip) tip.hidden = true;
    if (cursor) cursor.setAttribute('visibility', 'hidden');
  }
  function chartOf(e) { return e.target && e.target.closest ? e.target.closest('figure.chart[data-t]') : null; }
  var tapped = null;
  document.addEventListener('pointermove', function (e) {
    var fig = chartOf(e);
    if (fig && e.target.closest('.chart-frame')) readOut(fig, e.clientX);
  });
  document.addEventListener('pointerdown', function (e) {
    var fig = chartOf(e);
    if (tapped && tapped !== fig) hideTip(tapped);
    tapped = fig && e.target.closest('.chart-frame') ? fig : null;
    if (tapped) readOut(tapped, e.clientX);
  });
  document.addEventListener('pointerout', function (e) {
    var fig = chartOf(e);
    if (fig && e.pointerType === 'mouse' && !fig.contains(e.relatedTarget)) hideTip(fig);
  });

  // "(3 s ago)" keeps counting: server time at render + time since it arrived.
  function ago(s) {
    if (s < 1) return 'just now';
    if (s < 120) return s + ' s ago';
    if (s < 7200) return Math.round(s / 60) + ' min ago';
    if (s < 172800) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' days ago';
  }
  setInterval(function () {
    var els = document.querySelectorAll('[data-ago]');
    var now = Date.now();
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (!el.hasAttribute('data-seen')) el.setAttribute('data-seen', String(now));
      var ms = Number(el.getAttribute('data-now')) - Number(el.getAttribute('data-ago')) + (now - Number(el.getAttribute('data-seen')));
      el.textContent = ago(Math.max(0, Math.round(ms / 1000)));
    }
  }, 1000);
  var scrolls = {};
  var SCROLLED = ['logs', 'last-output', 'env', 'last-error'];
  document.addEventListener('htmx:beforeSwap', function (e) {
    if (!e.detail || !e.detail.target || e.detail.target.id !== 'detail-live') return;
    scrolls = {};
    SCROLLED.forEach(function (id) {
      var el = document.getElementById(id);
      if (el) scrolls[id] = el.scrollTop;
    });
  });
  document.addEventListener('htmx:afterSwap', function (e) {
    if (!e.detail || !e.detail.target || e.detail.target.id !== 'detail-live') return;
    SCROLLED.forEach(function (id) {
      var el = document.getElementById(id);
      if (el && scrolls[id]) el.scrollTop = scrolls[id];
    });
  });
  document.addEventListener('htmx:afterSettle', function (e) {
    mark();
    var target = e.detail && e.detail.target;
    if (target && target.id === 'detail' && window.matchMedia('(max-width: 900px)').matches) {
      target.scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
  });
  document.addEventListener('DOMContentLoaded', function () {
    var open = document.querySelector('#detail [data-function]');
    if (open) { selected = open.getAttribute('data-function'); mark(); }
  });
})();
`;
