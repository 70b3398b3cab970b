/* labdeck live reload: injected by the dev server (`build.py --serve`) only.
 *
 * Listens to /__labdeck/events. A "build" event lists the pages whose output
 * changed ("reload") and the pages whose deck failed ("errors"). This page
 * reloads only when it is listed, on the slide it shows (the player keeps
 * #name or #N in the URL, so a slide that moved is found by name). */
(function () {
  'use strict';
  if (!window.EventSource) return;

  function page() {
    var p = decodeURIComponent(location.pathname).replace(/^\/+/, '');
    if (p === '' || /\/$/.test(p)) p += 'index.html';
    return p;
  }
  var me = page();
  // for tests and tools: how many events this page handled without reloading
  var live = window.labdeckLiveReload = { connected: false, handled: 0 };

  function errors(lines) {
    var deck = window.slideshow;
    if (deck && deck.showErrors) {
      if (lines && lines.length) deck.showErrors(lines); else deck.hideErrors();
      return;
    }
    // index pages have no player: same overlay, same styling
    var el = document.getElementById('labdeck-overlay');
    if (!lines || !lines.length) { if (el) el.hidden = true; return; }
    if (!el) { el = document.createElement('div'); el.id = 'labdeck-overlay'; document.body.appendChild(el); }
    var pre = document.createElement('pre');
    pre.textContent = lines.join('\n');
    el.replaceChildren(pre);
    el.hidden = false;
  }

  function reload() {
    var deck = window.slideshow;
    if (deck && deck.currentHash) {
      try { history.replaceState(history.state, '', deck.currentHash()); } catch (e) {}
    }
    location.reload();
  }

  var source = new EventSource('/__labdeck/events');
  function handle(e) {
    var d;
    try { d = JSON.parse(e.data); } catch (err) { return; }
    var errs = (d.errors || {})[me];
    if ((d.reload || []).indexOf(me) >= 0 && !(errs && errs.length)) return reload();
    errors(errs);
    live.handled++;
  }
  source.addEventListener('open', function () { live.connected = true; });
  source.addEventListener('state', handle);
  source.addEventListener('build', handle);
  window.addEventListener('pagehide', function () { source.close(); });
})();
