/**
 * The pages' only script besides htmx, served as /static/dashboard.js. It is a string
 * so that it ships inside the compiled package (the build copies only TypeScript)
 * and it stays tiny: everything else is server-rendered partials.
 * - shows a banner while redlet does not answer (polls fail), hides it when they work;
 * - keeps the open function's row marked across refreshes of the table;
 * - keeps the scroll position of the detail's logs, output and env across refreshes;
 * - brings the detail panel into view on narrow screens when it opens.
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
    }
  });
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
