/* labdeck player: a small remark-compatible slideshow over pre-rendered slides.
 *
 * Decks can hold thousands of slides, so nothing here touches every slide at
 * load: only the current slide (and in presenter view the next one) is laid
 * out; all other containers stay display:none. */
(function () {
  'use strict';

  var W = 908, H = 512;               // remark's 16:9 base size
  var doc = document, root = doc.documentElement, body = doc.body;
  // A static list: a live HTMLCollection is re-walked after every class change.
  var slides = Array.prototype.slice.call(doc.getElementsByClassName('remark-slide-container'));
  var config = {};
  try { config = JSON.parse(doc.getElementById('labdeck-deck').textContent); } catch (e) {}

  var current = -1;
  var listeners = {};
  var names = null;                   // name -> index, built on first lookup
  var typed = '';                     // digits typed before Enter
  var isClone = /^labdeck-clone/.test(window.name);
  var clones = [];                    // windows opened with `c`
  var timerStart = 0, timerId = 0;

  function count() { return slides.length; }

  function info(i) {
    var el = slides[i];
    return { number: i + 1, name: el ? el.getAttribute('data-name') : null };
  }

  function emit(event, arg) {
    (listeners[event] || []).forEach(function (fn) {
      try { fn(arg); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  function indexOfName(name) {
    if (!names) {
      names = Object.create(null);
      for (var i = 0; i < slides.length; i++) {
        var n = slides[i].getAttribute('data-name');
        if (n && !(n in names)) names[n] = i;
      }
    }
    return name in names ? names[name] : null;
  }

  /* `#name` when that name leads back to this very slide, else `#N`. */
  function hashFor(i) {
    var n = slides[i].getAttribute('data-name');
    return n && indexOfName(n) === i ? '#' + encodeURIComponent(n) : '#' + (i + 1);
  }

  function readHash() {
    var h = location.hash.slice(1);
    if (!h) return null;
    try { h = decodeURIComponent(h); } catch (e) {}
    if (/^[0-9]+$/.test(h)) return Math.min(Math.max(parseInt(h, 10), 1), count()) - 1;
    return indexOfName(h);
  }

  function writeHash() {
    var h = hashFor(current);
    if (location.hash === h) return;
    try { history.replaceState(history.state, '', h); }
    catch (e) { location.replace(h); }   // replaceState can be refused on some file:// setups
  }

  function show(i, opts) {
    opts = opts || {};
    var n = count();
    if (!n) return;
    i = Math.min(Math.max(i | 0, 0), n - 1);
    var boot = doc.getElementById('labdeck-boot');
    if (boot) boot.remove();
    if (i === current && !opts.force) return;
    if (current >= 0 && current !== i) {
      emit('hideSlide', info(current));
      slides[current].classList.remove('remark-visible');
    }
    current = i;
    emit('showSlide', info(i));
    slides[i].classList.add('remark-visible');
    if (body.classList.contains('remark-presenter-mode')) updatePresenter();
    if (!opts.keepHash) writeHash();
    if (!opts.fromPeer) tellPeers();
    emit('afterShowSlide', info(i));
  }

  /* ---- scaling: one CSS variable for all slides, never per slide ---- */
  function rescale() {
    var w = window.innerWidth, h = window.innerHeight;
    root.style.setProperty('--labdeck-scale', Math.min(w / W, h / H));
    var top = 60, gap = 0.01 * w;
    var cur = Math.max(0.05, Math.min(0.62 * w / W, (h - top - gap) / H));
    var next = Math.max(0.05, (w - 4 * gap - cur * W) / W);
    root.style.setProperty('--labdeck-cur-scale', cur);
    root.style.setProperty('--labdeck-next-scale', Math.min(next, 0.5 * (h - top) / H));
  }

  /* ---- presenter view: current + next slide, notes, elapsed time ---- */
  var presenter = null;
  function presenterUI() {
    if (presenter) return presenter;
    presenter = doc.createElement('div');
    presenter.className = 'labdeck-presenter';
    presenter.innerHTML =
      '<div class="labdeck-presenter-bar">' +
      '<span class="labdeck-timer" title="click to restart">0:00:00</span>' +
      '<span class="labdeck-position"></span>' +
      '<span class="labdeck-source"></span></div>' +
      '<div class="labdeck-next-label">Next</div>' +
      '<div class="labdeck-notes remark-notes"></div>';
    presenter.querySelector('.labdeck-timer').addEventListener('click', restartTimer);
    body.appendChild(presenter);
    return presenter;
  }

  function tick() {
    var s = Math.floor((Date.now() - timerStart) / 1000);
    var t = Math.floor(s / 3600) + ':' + pad(Math.floor(s / 60) % 60) + ':' + pad(s % 60);
    presenter.querySelector('.labdeck-timer').textContent = t;
  }
  function pad(x) { return (x < 10 ? '0' : '') + x; }
  function restartTimer() { timerStart = Date.now(); tick(); }

  function updatePresenter() {
    var ui = presenterUI();
    var old = doc.querySelector('.remark-preview');
    if (old) old.classList.remove('remark-preview');
    var next = slides[current + 1];
    if (next) next.classList.add('remark-preview');
    ui.querySelector('.labdeck-next-label').textContent = next ? 'Next' : 'End of deck';
    ui.querySelector('.labdeck-position').textContent = (current + 1) + ' / ' + count();
    ui.querySelector('.labdeck-source').textContent = slides[current].getAttribute('data-source') || '';
    var notes = ui.querySelector('.labdeck-notes');
    var tpl = slides[current].querySelector('template.remark-slide-notes');
    notes.replaceChildren(tpl ? tpl.content.cloneNode(true) : '');
  }

  function togglePresenter(on) {
    if (on === undefined) on = !body.classList.contains('remark-presenter-mode');
    body.classList.toggle('remark-presenter-mode', on);
    try { sessionStorage.setItem('labdeck-presenter', on ? '1' : ''); } catch (e) {}
    if (on) {
      updatePresenter();
      if (!timerStart) restartTimer();
      if (!timerId) timerId = setInterval(tick, 1000);
    } else {
      var old = doc.querySelector('.remark-preview');
      if (old) old.classList.remove('remark-preview');
      clearInterval(timerId); timerId = 0;
    }
  }

  /* ---- clone windows: window.open + postMessage (works from file://) ---- */
  function openClone() {
    var url = location.href.split('#')[0] + hashFor(current);
    var w = window.open(url, 'labdeck-clone-' + Date.now());
    if (w) clones.push(w);
  }

  function post(w, msg) { try { w.postMessage(msg, '*'); } catch (e) {} }

  function tellPeers() {
    var msg = { labdeck: 'goto', index: current };
    clones = clones.filter(function (w) { return !w.closed; });
    clones.forEach(function (w) { post(w, msg); });
    if (isClone && window.opener) post(window.opener, msg);
  }

  window.addEventListener('message', function (e) {
    var d = e.data;
    if (!d || typeof d !== 'object' || !d.labdeck) return;
    var fromOpener = e.source && e.source === window.opener;
    if (!isClone && d.labdeck === 'hello' && e.source) {
      // a clone (re)announces itself, e.g. after this window was reloaded
      if (clones.indexOf(e.source) < 0) clones.push(e.source);
      post(e.source, { labdeck: 'goto', index: current });
    } else if (d.labdeck === 'goto' && typeof d.index === 'number') {
      if (isClone && !fromOpener) return;
      if (!isClone && clones.indexOf(e.source) < 0) return;
      show(d.index, { fromPeer: isClone });   // the main window relays to other clones
    }
  });

  /* ---- overlays: help, blackout, errors (used by live reload) ---- */
  var HELP = [
    ['→ ↓ Space PageDown', 'next slide'], ['← ↑ PageUp', 'previous slide'],
    ['Home / End', 'first / last slide'], ['number + Enter', 'go to slide'],
    ['p', 'presenter view'], ['c', 'clone window'], ['f', 'fullscreen'],
    ['b', 'blackout'], ['t', 'restart the timer'], ['? or h', 'this help'], ['Esc', 'close']
  ];
  function toggleHelp(on) {
    var el = doc.querySelector('.labdeck-help');
    if (!el) {
      if (on === false) return;
      el = doc.createElement('div');
      el.className = 'labdeck-help';
      el.hidden = true;
      var rows = HELP.map(function (r) {
        return '<tr><td><kbd>' + r[0] + '</kbd></td><td>' + r[1] + '</td></tr>';
      }).join('');
      el.innerHTML = '<div class="labdeck-help-box"><h2>Keyboard shortcuts</h2><table>' + rows + '</table></div>';
      el.addEventListener('click', function () { toggleHelp(false); });
      body.appendChild(el);
    }
    el.hidden = on === undefined ? !el.hidden : !on;
  }

  function showErrors(lines) {
    var el = doc.getElementById('labdeck-overlay');
    if (!el) {
      el = doc.createElement('div');
      el.id = 'labdeck-overlay';
      body.appendChild(el);
    }
    var pre = doc.createElement('pre');
    pre.textContent = [].concat(lines).join('\n');
    el.replaceChildren(pre);
    el.hidden = false;
  }
  function hideErrors() {
    var el = doc.getElementById('labdeck-overlay');
    if (el) el.hidden = true;
  }

  function toggleFullscreen() {
    if (doc.fullscreenElement) doc.exitFullscreen();
    else if (root.requestFullscreen) root.requestFullscreen().catch(function () {});
  }

  /* ---- input ---- */
  doc.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var k = e.key, handled = true;
    if (/^[0-9]$/.test(k)) { typed += k; e.preventDefault(); return; }
    if (k === 'Enter' && typed) { var n = parseInt(typed, 10); typed = ''; api.gotoSlide(n); e.preventDefault(); return; }
    typed = '';
    switch (k) {
      case 'ArrowRight': case 'ArrowDown': case 'PageDown': case 'j':
        api.gotoNextSlide(); break;
      case ' ':
        if (e.shiftKey) api.gotoPreviousSlide(); else api.gotoNextSlide(); break;
      case 'ArrowLeft': case 'ArrowUp': case 'PageUp': case 'k': case 'Backspace':
        api.gotoPreviousSlide(); break;
      case 'Home': api.gotoFirstSlide(); break;
      case 'End': api.gotoLastSlide(); break;
      case 'p': case 'P': togglePresenter(); break;
      case 'c': case 'C': openClone(); break;
      case 'f': case 'F': toggleFullscreen(); break;
      case 'b': case 'B': body.classList.toggle('labdeck-blackout'); break;
      case 't': case 'T': if (timerStart) restartTimer(); break;
      case '?': case 'h': case 'H': toggleHelp(); break;
      case 'Escape':
        toggleHelp(false); body.classList.remove('labdeck-blackout');
        handled = false; break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });

  var touch = null;
  doc.addEventListener('touchstart', function (e) {
    if (e.touches.length === 1) touch = { x: e.touches[0].clientX, y: e.touches[0].clientY };
  }, { passive: true });
  doc.addEventListener('touchend', function (e) {
    if (!touch || !e.changedTouches.length) return;
    var dx = e.changedTouches[0].clientX - touch.x, dy = e.changedTouches[0].clientY - touch.y;
    touch = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > Math.abs(dy)) {
      if (dx < 0) api.gotoNextSlide(); else api.gotoPreviousSlide();
    }
  }, { passive: true });

  // `#name` links inside slides and typed URLs both arrive here
  window.addEventListener('hashchange', function () {
    var i = readHash();
    if (i !== null) show(i, { keepHash: true });
    else writeHash();               // unknown name: point the URL back at the slide shown
  });
  window.addEventListener('resize', rescale);
  window.addEventListener('beforeprint', function () { toggleHelp(false); loadImages(); });

  /* Slide images should be loading="lazy" (hidden slides must not load them at
     start); printing and PDF export need them all: returns a Promise. */
  function loadImages() {
    var imgs = doc.querySelectorAll('.remark-slide-content img');
    return Promise.all(Array.prototype.map.call(imgs, function (img) {
      img.loading = 'eager';
      if (img.complete) return null;
      return new Promise(function (res) {
        img.addEventListener('load', res, { once: true });
        img.addEventListener('error', res, { once: true });
      });
    }));
  }

  var api = {
    getSlideCount: count,
    getCurrentSlideIndex: function () { return current; },
    gotoSlide: function (n) { show((parseInt(n, 10) || 1) - 1); },
    gotoNextSlide: function () { show(current + 1); },
    gotoPreviousSlide: function () { show(current - 1); },
    gotoFirstSlide: function () { show(0); },
    gotoLastSlide: function () { show(count() - 1); },
    on: function (event, fn) { (listeners[event] = listeners[event] || []).push(fn); return api; },
    off: function (event, fn) {
      listeners[event] = (listeners[event] || []).filter(function (f) { return f !== fn; });
    },
    togglePresenterMode: function () { togglePresenter(); },
    isPresenterMode: function () { return body.classList.contains('remark-presenter-mode'); },
    toggleHelp: function () { toggleHelp(); },
    toggleBlackout: function () { body.classList.toggle('labdeck-blackout'); },
    toggleFullscreen: toggleFullscreen,
    loadImages: loadImages,
    openClone: openClone,
    isClone: function () { return isClone; },
    // live reload: the hash names the slide; show a located error list
    currentHash: function () { return hashFor(current); },
    showErrors: showErrors,
    hideErrors: hideErrors,
    config: config
  };
  window.slideshow = api;

  rescale();
  var start = readHash();
  show(start === null ? 0 : start, { force: true, fromPeer: true });
  if (isClone) {
    body.classList.add('labdeck-clone');
    // announce ourselves now and then: survives a reload of the main window
    if (window.opener) {
      post(window.opener, { labdeck: 'hello' });
      setInterval(function () { if (window.opener) post(window.opener, { labdeck: 'hello' }); }, 1000);
    }
  } else {
    try { if (sessionStorage.getItem('labdeck-presenter')) togglePresenter(true); } catch (e) {}
  }
})();
