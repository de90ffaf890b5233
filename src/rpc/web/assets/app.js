// The status page's live view and the tail pages' follow. Plain script, no framework;
// every page works without it. The status table is refreshed from /api/rows every
// few seconds while the page is visible (never while hidden), and the buttons post
// in the background and show the answer without leaving the page.
(function () {
  'use strict';
  var PERIOD = 2000;

  function message(text, ok) {
    var m = document.getElementById('message');
    if (!m) return;
    m.textContent = text;
    m.className = ok ? 'status_msg' : 'status_msg error';
  }

  function statusPage(tbody) {
    var timer = null;
    var busy = false;

    function apply(html) {
      var t = document.createElement('template');
      t.innerHTML = html;
      var fresh = t.content.querySelectorAll('tr');
      var old = tbody.querySelectorAll('tr');
      if (fresh.length !== old.length) {
        tbody.replaceChildren(t.content);
        return;
      }
      for (var i = 0; i < fresh.length; i++) {
        if (fresh[i].outerHTML !== old[i].outerHTML) old[i].replaceWith(fresh[i]);
      }
    }

    function refresh() {
      if (busy) return Promise.resolve();
      busy = true;
      return fetch('api/rows', { cache: 'no-store', credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(apply)
        .catch(function () {})
        .then(function () { busy = false; });
    }

    function schedule() {
      clearInterval(timer);
      timer = document.hidden ? null : setInterval(refresh, PERIOD);
    }

    document.addEventListener('visibilitychange', function () {
      schedule();
      if (!document.hidden) refresh();
    });

    document.addEventListener('submit', function (ev) {
      var form = ev.target;
      if (!form.classList || !form.classList.contains('act')) return;
      ev.preventDefault();
      var button = ev.submitter;
      var body = new URLSearchParams(new FormData(form, button));
      if (button) button.disabled = true;
      message((button ? button.textContent : 'Working') + '…', true);
      fetch(form.getAttribute('action'), {
        method: 'POST',
        body: body,
        credentials: 'same-origin',
        headers: { Accept: 'application/json' }
      })
        .then(function (r) {
          return r.json().catch(function () { return { ok: false, message: 'HTTP ' + r.status }; });
        })
        .then(function (a) { message(a.message, a.ok); })
        .catch(function (e) { message('Request failed: ' + e, false); })
        .then(function () {
          if (button) button.disabled = false;
          return refresh();
        });
    });
    schedule();
  }

  function tailPage(pre) {
    var url = pre.getAttribute('data-follow');
    var offset = pre.getAttribute('data-offset') || '0';
    var follow = document.getElementById('follow');
    if (!url) {
      if (follow) follow.parentNode.hidden = true;
      return;
    }
    pre.scrollTop = pre.scrollHeight;
    var decoder = new TextDecoder();
    var controller = null;

    function start() {
      controller = new AbortController();
      fetch(url + '?offset=' + offset, { signal: controller.signal, credentials: 'same-origin' })
        .then(function (r) {
          if (!r.ok || !r.body) return;
          var reader = r.body.getReader();
          function pump() {
            return reader.read().then(function (chunk) {
              if (chunk.done) return;
              var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
              offset = String(Number(offset) + chunk.value.length);
              pre.append(decoder.decode(chunk.value, { stream: true }));
              if (atEnd) pre.scrollTop = pre.scrollHeight;
              return pump();
            });
          }
          return pump();
        })
        .catch(function () {});
    }

    function stop() {
      if (controller) controller.abort();
      controller = null;
    }

    // Leaving the page ends the stream (a page kept in the back/forward cache would
    // otherwise hold it open, and the daemon looks at the file 5 times a second).
    window.addEventListener('pagehide', stop);
    window.addEventListener('pageshow', function (ev) {
      if (ev.persisted && (!follow || follow.checked)) start();
    });
    if (follow) {
      follow.addEventListener('change', function () { if (follow.checked) start(); else stop(); });
    }
    start();
  }

  var tbody = document.getElementById('procs');
  if (tbody) statusPage(tbody);
  var pre = document.getElementById('tailbody');
  if (pre) tailPage(pre);
})();
