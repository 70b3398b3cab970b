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
    updateChrome(i);
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

  /* ---- chrome: progress bar, part/chapter label, what screen readers hear ---- */
  // config.sections: [[first slide number, part number, title], ...] in slide order
  var sections = config.sections || [];
  var multiPart = sections.some(function (s) { return s[1] > 1; });
  var area = doc.querySelector('.remark-slides-area');
  var progress = null, sectionLabel = null, announcer = null;

  function chromeUI() {
    if (progress) return;
    area.setAttribute('role', 'region');
    area.setAttribute('aria-roledescription', 'slide');
    area.tabIndex = -1;            // focus lands here when the focused slide goes away
    progress = doc.createElement('div');
    progress.className = 'labdeck-progress';
    progress.setAttribute('aria-hidden', 'true');
    progress.innerHTML = '<div class="labdeck-progress-bar"></div>';
    sectionLabel = doc.createElement('div');
    sectionLabel.className = 'labdeck-section';
    announcer = doc.createElement('div');
    announcer.className = 'labdeck-sr-only';
    announcer.setAttribute('aria-live', 'polite');
    announcer.setAttribute('aria-atomic', 'true');
    body.appendChild(progress);
    body.appendChild(announcer);
  }

  function sectionOf(i) {
    var lo = 0, hi = sections.length - 1, found = null;
    while (lo <= hi) {              // the last section starting at or before slide i + 1
      var mid = (lo + hi) >> 1;
      if (sections[mid][0] <= i + 1) { found = sections[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  function sectionText(i) {
    var s = sectionOf(i);
    if (!s) return '';
    return (multiPart ? 'Part ' + s[1] + ' \u00b7 ' : '') + s[2];
  }

  function clean(text) { return text.replace(/\s+/g, ' ').trim(); }

  /* A slide's title: its first heading, else (title slides are bare paragraphs) its first line of text. */
  function slideTitle(i) {
    var c = slides[i].querySelector('.remark-slide-content');
    if (!c) return '';
    var h = c.querySelector('h1, h2, h3');
    if (h) return clean(h.textContent);
    var p = c.querySelector(':scope > p');
    return p ? clean(p.textContent).slice(0, 120) : '';
  }

  var announced = false;
  function updateChrome(i) {
    chromeUI();
    progress.firstChild.style.transform = 'scaleX(' + (count() > 1 ? i / (count() - 1) : 1) + ')';
    var label = sectionText(i);
    sectionLabel.textContent = label;
    sectionLabel.hidden = !label;
    var frame = slides[i].querySelector('.remark-slide');
    if (frame && sectionLabel.parentNode !== frame) frame.appendChild(sectionLabel);
    // a code block wider than the slide scrolls: it must be reachable with the keyboard
    Array.prototype.forEach.call(slides[i].querySelectorAll('pre > code.remark-code'), function (code) {
      if (code.scrollWidth > code.clientWidth + 1) code.tabIndex = 0;
    });
    var title = slideTitle(i) || sectionOf(i) && sectionOf(i)[2] || '';
    var text = 'Slide ' + (i + 1) + ' of ' + count() + (title ? ': ' + title : '');
    area.setAttribute('aria-label', text);
    // the first slide is not news: announce changes only
    if (announced) announcer.textContent = text;
    announced = true;
    // focus inside a slide that is now hidden would fall back to <body>
    var f = doc.activeElement;
    if (f && f !== area && area.contains(f) && !slides[i].contains(f)) area.focus({ preventScroll: true });
  }

  /* ---- overview (`o`): a grid of the slides themselves, scaled down ----
     Only the rows in view hold clones: a 2,653-slide deck is never cloned whole. */
  var overview = null;           // { root, scroll, spacer, cells: {index: element}, cols, cell, row, selected }
  var CELL_MIN = 220, GAP = 16, LABEL = 22;

  function overviewOpen() { return !!(overview && !overview.root.hidden); }

  function overviewUI() {
    if (overview) return overview;
    var root = doc.createElement('div');
    root.className = 'labdeck-overview';
    root.setAttribute('role', 'dialog');
    root.setAttribute('aria-modal', 'true');
    root.setAttribute('aria-label', 'Overview of the slides (arrow keys to move, Enter to go, Escape to close)');
    root.hidden = true;
    root.innerHTML = '<div class="labdeck-overview-scroll"><div class="labdeck-overview-spacer" role="list"></div></div>';
    body.appendChild(root);
    overview = { root: root, scroll: root.firstChild, spacer: root.firstChild.firstChild, cells: {},
                 cols: 1, cell: CELL_MIN, row: 0, selected: 0 };
    overview.scroll.addEventListener('scroll', renderOverview, { passive: true });
    overview.spacer.addEventListener('click', function (e) {
      var cell = e.target.closest('.labdeck-overview-cell');
      if (cell) { closeOverview(); show(+cell.dataset.index); }
    });
    return overview;
  }

  function layoutOverview() {
    var o = overview, w = o.scroll.clientWidth - 2 * GAP;
    o.cols = Math.max(1, Math.floor((w + GAP) / (CELL_MIN + GAP)));
    o.cell = Math.floor((w - (o.cols - 1) * GAP) / o.cols);
    o.row = Math.round(o.cell * H / W) + LABEL + GAP;
    o.spacer.style.height = (Math.ceil(count() / o.cols) * o.row + GAP) + 'px';
    for (var k in o.cells) o.cells[k].remove();
    o.cells = {};
  }

  function overviewCell(i) {
    var o = overview, cell = doc.createElement('div');
    cell.className = 'labdeck-overview-cell';
    cell.dataset.index = i;
    cell.setAttribute('role', 'listitem');
    cell.tabIndex = -1;
    var title = slideTitle(i);
    cell.setAttribute('aria-label', 'Slide ' + (i + 1) + (title ? ': ' + title : ''));
    if (i === current) { cell.classList.add('labdeck-overview-current'); cell.setAttribute('aria-current', 'true'); }
    cell.style.cssText = 'left:' + (GAP + (i % o.cols) * (o.cell + GAP)) + 'px;top:' +
      (GAP + Math.floor(i / o.cols) * o.row) + 'px;width:' + o.cell + 'px';
    var thumb = doc.createElement('div');
    thumb.className = 'labdeck-overview-thumb';
    thumb.setAttribute('aria-hidden', 'true');
    thumb.inert = true;
    thumb.style.height = Math.round(o.cell * H / W) + 'px';
    var frame = slides[i].querySelector('.remark-slide').cloneNode(true);
    var label = frame.querySelector('.labdeck-section');
    if (label) label.remove();
    frame.style.transform = 'scale(' + o.cell / W + ')';
    thumb.appendChild(frame);
    var caption = doc.createElement('div');
    caption.className = 'labdeck-overview-number';
    caption.textContent = (i + 1) + (i === current ? ' \u00b7 current' : '');
    cell.appendChild(thumb);
    cell.appendChild(caption);
    return cell;
  }

  function renderOverview() {
    var o = overview;
    var first = Math.max(0, Math.floor((o.scroll.scrollTop - GAP) / o.row) - 1) * o.cols;
    var last = Math.min(count() - 1, (Math.ceil((o.scroll.scrollTop + o.scroll.clientHeight) / o.row) + 1) * o.cols - 1);
    for (var k in o.cells) {
      if (k < first || k > last) { o.cells[k].remove(); delete o.cells[k]; }
    }
    for (var i = first; i <= last; i++) {
      if (!o.cells[i]) {
        o.cells[i] = overviewCell(i);
        o.spacer.appendChild(o.cells[i]);
      }
      o.cells[i].classList.toggle('labdeck-overview-selected', i === o.selected);
    }
  }

  function selectInOverview(i) {
    var o = overview;
    o.selected = Math.min(Math.max(i, 0), count() - 1);
    var top = GAP + Math.floor(o.selected / o.cols) * o.row, view = o.scroll.clientHeight;
    if (top < o.scroll.scrollTop) o.scroll.scrollTop = top - GAP;
    else if (top + o.row > o.scroll.scrollTop + view) o.scroll.scrollTop = top + o.row - view;
    renderOverview();
    o.cells[o.selected].focus({ preventScroll: true });
  }

  function openOverview() {
    var o = overviewUI();
    closeSearch(false);
    toggleHelp(false);
    o.opener = doc.activeElement;
    o.root.hidden = false;
    body.classList.add('labdeck-overview-open');
    layoutOverview();
    o.scroll.scrollTop = Math.max(0, GAP + Math.floor(current / o.cols) * o.row - (o.scroll.clientHeight - o.row) / 2);
    selectInOverview(current);
  }

  function closeOverview() {
    if (!overviewOpen()) return;
    overview.root.hidden = true;
    body.classList.remove('labdeck-overview-open');
    for (var k in overview.cells) overview.cells[k].remove();
    overview.cells = {};
    area.focus({ preventScroll: true });
  }

  function overviewKey(e) {
    var o = overview, rows = Math.max(1, Math.floor(o.scroll.clientHeight / o.row));
    var moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -o.cols, ArrowDown: o.cols,
                  PageUp: -rows * o.cols, PageDown: rows * o.cols };
    if (e.key in moves) selectInOverview(o.selected + moves[e.key]);
    else if (e.key === 'Home') selectInOverview(0);
    else if (e.key === 'End') selectInOverview(count() - 1);
    else if (e.key === 'Enter' || e.key === ' ') { closeOverview(); show(o.selected); }
    else if (e.key === 'Escape' || e.key === 'o' || e.key === 'O') closeOverview();
    else if (e.key === 'Tab') { selectInOverview(o.selected); }   // focus stays in the grid
    else return;
    e.preventDefault();
  }

  window.addEventListener('resize', function () {
    if (overviewOpen()) { layoutOverview(); selectInOverview(overview.selected); }
  });

  /* ---- search (`/`): every slide's text and notes, case and accents ignored ----
     The text is read from the DOM once, when search first opens; a keystroke is a
     substring scan of plain strings (narrowed to the last matches when the query grows). */
  var search = null;         // { root, input, count, query, hits, raw, origin }
  var texts = null, notesTexts = null;

  var NON_ASCII = /[^\u0000-\u007f]/;
  function fold(s) {
    s = s.toLowerCase();
    if (NON_ASCII.test(s)) s = s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    return s.replace(/\s+/g, ' ');
  }

  function visibleText(el) {
    if (!el.querySelector('style, script')) return el.textContent;
    var out = '', walk = doc.createTreeWalker(el, NodeFilter.SHOW_TEXT), n;
    while ((n = walk.nextNode())) if (!n.parentNode.closest('style, script')) out += n.data;
    return out;
  }

  /* The index is read while the browser is idle, a few slides at a time, once
     someone uses the deck (a key, the wheel, a touch: pages driven by scripts,
     such as `check` and `pdf`, never pay for it); `/` before it is complete
     finishes it at once. */
  var indexed = 0;
  function indexSlide(i) {
    var c = slides[i].querySelector('.remark-slide-content'), t = c ? visibleText(c) : '';
    var num = c && c.querySelector('.remark-slide-number');
    if (num) t = t.slice(0, t.lastIndexOf(num.textContent));
    texts[i] = fold(t);
    var tpl = slides[i].querySelector('template.remark-slide-notes');
    notesTexts[i] = tpl ? fold(tpl.content.textContent) : '';
    // a string's first search flattens it (V8): 14 ms over the whole deck on the first
    // keystroke otherwise; here it is paid while the browser is idle
    texts[i].indexOf('\u0000'); notesTexts[i].indexOf('\u0000');
  }
  function buildIndex(deadline) {
    if (!texts) { texts = new Array(count()); notesTexts = new Array(count()); }
    // idle slices of at most 8 ms: a key pressed meanwhile waits no longer than that
    var stop = performance.now() + 8;
    while (indexed < count() && (!deadline || (deadline.timeRemaining() > 1 && performance.now() < stop))) indexSlide(indexed++);
    if (indexed < count() && deadline) window.requestIdleCallback(buildIndex);
  }
  var indexStarted = false;
  function indexWhenIdle() {
    if (indexStarted || !window.requestIdleCallback) return;
    indexStarted = true;
    window.requestIdleCallback(buildIndex, { timeout: 10000 });
  }
  ['keydown', 'wheel', 'touchstart'].forEach(function (type) {
    doc.addEventListener(type, indexWhenIdle, { passive: true, once: true });
  });

  function searchUI() {
    if (search) return search;
    var root = doc.createElement('div');
    root.className = 'labdeck-search';
    root.setAttribute('role', 'search');
    root.hidden = true;
    root.innerHTML =
      '<input type="search" aria-label="Search the slides and their notes" placeholder="Search slides and notes" ' +
      'autocomplete="off" spellcheck="false">' +
      '<span class="labdeck-search-count" aria-live="polite"></span>' +
      '<button type="button" data-go="-1" aria-label="Previous match" title="Previous match (Shift+Enter)">\u2191</button>' +
      '<button type="button" data-go="1" aria-label="Next match" title="Next match (Enter)">\u2193</button>' +
      '<button type="button" data-go="0" aria-label="Close search" title="Close (Escape)">\u00d7</button>';
    body.appendChild(root);
    search = { root: root, input: root.querySelector('input'), count: root.querySelector('.labdeck-search-count'),
               query: '', hits: [], raw: [], origin: 0 };
    search.input.addEventListener('input', function () { runSearch(search.input.value); });
    search.input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        nextMatch(e.key === 'ArrowUp' || (e.key === 'Enter' && e.shiftKey) ? -1 : 1);
      } else if (e.key === 'Escape') closeSearch(true);
      else return;
      e.preventDefault();
      e.stopPropagation();
    });
    root.addEventListener('click', function (e) {
      var b = e.target.closest('button');
      if (!b) return;
      if (+b.dataset.go) nextMatch(+b.dataset.go); else closeSearch(true);
    });
    return search;
  }

  function openSearch() {
    var s = searchUI();
    closeOverview();
    buildIndex();
    s.root.hidden = false;
    s.origin = current;
    s.input.focus();
    s.input.select();
    if (s.query) highlight(current, s.query);
  }

  function closeSearch(refocus) {
    if (!search || search.root.hidden) return;
    search.root.hidden = true;
    clearTimeout(search.hashTimer);
    writeHash();
    highlight(current, '');
    if (refocus) area.focus({ preventScroll: true });
  }

  function matches(q) {
    var from = search.query && q.indexOf(search.query) >= 0 ? search.raw : null, out = [];
    if (from) {
      for (var j = 0; j < from.length; j++) {
        var k = from[j];
        if (texts[k].indexOf(q) >= 0 || notesTexts[k].indexOf(q) >= 0) out.push(k);
      }
    } else {
      for (var i = 0; i < texts.length; i++) {
        if (texts[i].indexOf(q) >= 0 || notesTexts[i].indexOf(q) >= 0) out.push(i);
      }
    }
    return out;
  }

  function runSearch(value) {
    var q = fold(value).trim();
    if (!q) {
      search.query = ''; search.raw = []; search.hits = [];
      search.count.textContent = '';
      highlight(current, '');
      return;
    }
    var raw = matches(q);
    // the `--` steps of one slide repeat its text: a match counts once, on the step it appears in
    var hits = raw.filter(function (k, j) {
      return !(j && raw[j - 1] === k - 1 && texts[k].lastIndexOf(texts[k - 1], 0) === 0 &&
               notesTexts[k] === notesTexts[k - 1]);
    });
    search.query = q; search.raw = raw; search.hits = hits;
    if (!hits.length) {
      search.count.textContent = 'no match';
      highlight(current, q);
      return;
    }
    var at = 0;                      // the first match at or after where the search started
    while (at < hits.length && hits[at] < search.origin) at++;
    goToHit(at % hits.length);
  }

  function goToHit(n) {
    var s = search;
    s.at = n;
    s.count.textContent = (n + 1) + ' of ' + s.hits.length + (texts[s.hits[n]].indexOf(s.query) < 0 ? ' (in the notes)' : '');
    // the URL follows once typing pauses (replaceState costs milliseconds on a large page)
    show(s.hits[n], { keepHash: true });
    clearTimeout(s.hashTimer);
    s.hashTimer = setTimeout(writeHash, 300);
    highlight(current, s.query);
  }

  function nextMatch(dir) {
    var s = search;
    if (!s || !s.hits.length) return;
    var n;
    if (s.hits[s.at] === current) n = s.at + dir;
    else {                           // the slide changed since: the next match from here
      n = 0;
      while (n < s.hits.length && s.hits[n] <= current) n++;
      if (dir < 0) n = (s.hits[n - 1] === current ? n - 2 : n - 1);
    }
    goToHit((n + s.hits.length) % s.hits.length);
    s.origin = current;
  }

  /* A root's visible text folded as the index folds it, with where each folded character
     comes from (text node, offset). The shown slide's is kept: the next keystroke on the
     same slide reuses it (its DOM never changes); the presenter notes are read each time. */
  var WHITESPACE = /\s/, shownText = null;
  function foldedText(root) {
    if (shownText && shownText.root === root) return shownText;
    var chars = [], nodes = [], offsets = [], space = false, walk = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT), n;
    while ((n = walk.nextNode())) {
      if (n.parentNode.closest('style, script, .remark-slide-number')) continue;
      var data = n.data, ascii = !NON_ASCII.test(data), lower = data.toLowerCase();
      for (var k = 0; k < data.length; k++) {
        var f = ascii ? lower[k] : fold(data[k]);
        if (WHITESPACE.test(f)) {
          if (space) continue;
          f = ' ';
        }
        for (var m = 0; m < f.length; m++) { chars.push(f[m]); nodes.push(n); offsets.push(k); }
        if (f.length) space = f[f.length - 1] === ' ';
      }
    }
    return { root: root, folded: chars.join(''), nodes: nodes, offsets: offsets };
  }

  /* Mark the matches on the shown slide (and its notes in presenter view) with the
     CSS Custom Highlight API: no change to the slide's DOM. */
  function highlight(i, q) {
    if (!window.CSS || !CSS.highlights || typeof Highlight === 'undefined') return;
    if (!q) { CSS.highlights.delete('labdeck-search'); return; }
    var ranges = [];
    var content = slides[i].querySelector('.remark-slide-content'), roots = [content];
    if (presenter && body.classList.contains('remark-presenter-mode')) roots.push(presenter.querySelector('.labdeck-notes'));
    roots.forEach(function (root) {
      if (!root) return;
      var t = foldedText(root);
      if (root === content) shownText = t;
      for (var at = t.folded.indexOf(q); at >= 0; at = t.folded.indexOf(q, at + q.length)) {
        var end = at + q.length - 1, r = doc.createRange();
        r.setStart(t.nodes[at], t.offsets[at]);
        r.setEnd(t.nodes[end], t.offsets[end] + 1);
        ranges.push(r);
      }
    });
    var h = new Highlight();
    ranges.forEach(function (r) { h.add(r); });
    CSS.highlights.set('labdeck-search', h);
  }

  /* ---- overlays: help, blackout, errors (used by live reload) ---- */
  var HELP = [
    ['→ ↓ Space PageDown', 'next slide'], ['← ↑ PageUp', 'previous slide'],
    ['Home / End', 'first / last slide'], ['number + Enter', 'go to slide'],
    ['o', 'overview of all slides'], ['/', 'search slides and notes (Enter: next match)'],
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
    if (overviewOpen()) { overviewKey(e); return; }
    if (t && t.tagName === 'BUTTON' && (k === ' ' || k === 'Enter')) return;   // the button's own action
    if (t && t.tabIndex >= 0 && t.matches('code.remark-code') && (k === 'ArrowLeft' || k === 'ArrowRight')) return;
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
      case 'o': case 'O': openOverview(); break;
      case '/': openSearch(); break;
      case 'p': case 'P': togglePresenter(); break;
      case 'c': case 'C': openClone(); break;
      case 'f': case 'F': toggleFullscreen(); break;
      case 'b': case 'B': body.classList.toggle('labdeck-blackout'); break;
      case 't': case 'T': if (timerStart) restartTimer(); break;
      case '?': case 'h': case 'H': toggleHelp(); break;
      case 'Escape':
        toggleHelp(false); closeSearch(false); body.classList.remove('labdeck-blackout');
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

  /* Mouse wheel pages as in remark (down: next, up: previous), one turn per
     WHEEL_PAUSE ms: a trackpad or a free-spinning wheel sends dozens of events. */
  var WHEEL_PAUSE = 350, wheelTurned = 0;
  doc.addEventListener('wheel', function (e) {
    if (e.ctrlKey || !e.deltaY || overviewOpen()) return;
    if (e.target.closest && e.target.closest('.labdeck-notes, .labdeck-help, .labdeck-search, #labdeck-overlay')) return;
    var now = Date.now();
    if (now - wheelTurned < WHEEL_PAUSE) return;
    wheelTurned = now;
    if (e.deltaY > 0) api.gotoNextSlide(); else api.gotoPreviousSlide();
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
    toggleOverview: function () { if (overviewOpen()) closeOverview(); else openOverview(); },
    isOverviewOpen: overviewOpen,
    search: function (text) { openSearch(); search.input.value = text; runSearch(text); return search.hits.slice(); },
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
