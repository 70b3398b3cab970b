// Installed once per deck page by `labdeck check`: window.__labdeckCheck.
() => {
  const W = 908, H = 512;
  // A static array: a live getElementsByClassName collection is invalidated by
  // every class change, and indexing it then walks the document again, which
  // on a 2,653-slide deck costs milliseconds per slide.
  const slides = Array.from(document.getElementsByClassName('remark-slide-container'));

  function content(el) { return el.querySelector('.remark-slide-content'); }

  // Text lines of a heading: distinct line boxes among its text's client rects.
  function lines(h) {
    const r = document.createRange();
    r.selectNodeContents(h);
    const tops = [];
    for (const q of r.getClientRects()) {
      if (q.width < 1 || q.height < 1) continue;
      if (!tops.some(t => Math.abs(t - q.bottom) < q.height / 2)) tops.push(q.bottom);
    }
    return tops.length;
  }

  // How far the slide's content reaches past its 16:9 box, in slide pixels.
  // Children's boxes give the height; a range over a child's contents also
  // catches text that does not wrap (a long word, a wide table cell). Code
  // blocks scroll sideways inside their own box, so only their box counts.
  function overflow(c) {
    const box = c.getBoundingClientRect();
    const k = box.width / W || 1;
    let bottom = -1e9, right = -1e9, top = 1e9, left = 1e9;
    const r = document.createRange();
    for (const ch of c.children) {
      if (ch.classList.contains('remark-slide-number')) continue;
      let q = ch.getBoundingClientRect();
      if (!q.width && !q.height) continue;
      bottom = Math.max(bottom, q.bottom); top = Math.min(top, q.top);
      if (!ch.querySelector('pre') && ch.tagName !== 'PRE') {
        r.selectNodeContents(ch);
        const t = r.getBoundingClientRect();
        if (t.width || t.height) q = { left: Math.min(q.left, t.left), right: Math.max(q.right, t.right) };
      }
      right = Math.max(right, q.right); left = Math.min(left, q.left);
    }
    return {
      bottom: Math.round((bottom - box.bottom) / k), right: Math.round((right - box.right) / k),
      top: Math.round((box.top - top) / k), left: Math.round((box.left - left) / k)
    };
  }

  // innerText of the whole slide: it skips display:none parts (a child's
  // own innerText would not, when the child itself is not rendered).
  function visibleText(c) {
    const num = c.querySelector('.remark-slide-number');
    let t = c.innerText || '';
    if (num && num.innerText) t = t.replace(num.innerText, '');
    return t.trim();
  }

  // A `pic` slide with nothing in it is the interstitial markmaker leaves
  // before a chapter when the decks have no interstitials.txt: blank on purpose.
  function isEmpty(c) {
    if (c.classList.contains('pic') && c.children.length === 1) return false;   // only the slide number
    if (c.querySelector('img, svg, video, canvas, iframe, object, embed')) return false;
    if (/url\(/.test(c.getAttribute('style') || '')) return false;   // background-image: slide property
    return !visibleText(c);
  }

  // The walk shows slides the way the player does (the remark-visible class)
  // without calling gotoSlide(): the player indexes a live collection and
  // rewrites the URL on every slide, several ms per slide on big decks.
  function probe(i) {
    const found = [];
    const add = (check, severity, message) => found.push({ n: i + 1, check, severity, message });
    slides[i].classList.add('remark-visible');
    const c = content(slides[i]);
    if (!c) { add('structure', 'error', 'no .remark-slide-content'); return found; }
    const o = overflow(c);
    const sides = [];
    if (o.bottom > 1) sides.push(o.bottom + 'px at the bottom');
    if (o.right > 1) sides.push(o.right + 'px on the right');
    if (o.top > 1) sides.push(o.top + 'px at the top');
    if (o.left > 1) sides.push(o.left + 'px on the left');
    if (sides.length) add('overflow', 'error', 'content overflows the slide by ' + sides.join(' and '));
    for (const h of c.querySelectorAll('h1, h2')) {
      const n = lines(h);
      if (n > 1) add('title-wrap', 'error', h.tagName.toLowerCase() + ' title wraps onto ' + n +
                     ' lines: "' + h.textContent.trim().slice(0, 60) + '"');
    }
    if (isEmpty(c)) add('empty', 'error', 'empty slide: no visible text and no image');
    slides[i].classList.remove('remark-visible');
    return found;
  }

  function walk(a, b) {
    let out = [];
    const cur = slideshow.getCurrentSlideIndex();
    if (cur >= 0) slides[cur].classList.remove('remark-visible');
    for (let i = a; i < b; i++) out = out.concat(probe(i));
    if (cur >= 0) slides[cur].classList.add('remark-visible');
    return out;
  }

  // The player itself: it reaches the first, a middle and the last slide.
  function player() {
    const n = slideshow.getSlideCount(), bad = [];
    for (const k of [n, Math.ceil(n / 2), 1]) {
      slideshow.gotoSlide(k);
      if (slideshow.getCurrentSlideIndex() !== k - 1 || !slides[k - 1].classList.contains('remark-visible'))
        bad.push(k);
    }
    return bad;
  }

  // Everything that does not need layout, read once: images that failed to
  // decode, links, and the slide each resource URL belongs to.
  function slideOf(el) {
    const s = el.closest('.remark-slide-container');
    return s ? parseInt(s.getAttribute('data-number'), 10) : 0;
  }

  // The builder marks images loading="lazy": hidden slides would never fetch
  // theirs. Load them all now, so that sizes are right when a slide is
  // measured and broken files show up; resolves when every image settled.
  function settle(timeoutMs) {
    const waits = [];
    for (const img of document.querySelectorAll('.remark-slide-container img')) {
      if (img.loading === 'lazy') img.loading = 'eager';
      if (!img.complete) waits.push(new Promise(r => {
        img.addEventListener('load', r, { once: true });
        img.addEventListener('error', r, { once: true });
      }));
    }
    const all = Promise.all(waits).then(() => 0);
    const late = new Promise(r => setTimeout(() => r(-1), timeoutMs));
    return Promise.race([all, late]).then(() =>
      Array.from(document.querySelectorAll('.remark-slide-container img')).filter(i => !i.complete)
        .map(i => ({ n: slideOf(i), src: i.getAttribute('src') })));
  }

  function images() {
    const out = [];
    for (const img of document.querySelectorAll('.remark-slide-container img')) {
      const src = img.currentSrc || img.src;
      if (!/^(file|data|blob):/.test(src)) continue;    // remote: reported as a request
      if (img.complete && img.naturalWidth === 0) out.push({ n: slideOf(img), src: img.getAttribute('src') });
    }
    return out;
  }

  function links() {
    const out = [];
    for (const a of document.querySelectorAll('.remark-slide-container a[href]')) {
      out.push({ n: slideOf(a), href: a.getAttribute('href'), url: a.href });
    }
    return out;
  }

  // Which slide asks for each URL (src, href, data, inline style url(...)).
  function locate(urls) {
    const want = new Set(urls), where = {};
    const els = document.querySelectorAll('.remark-slide-container [src], .remark-slide-container [href], ' +
      '.remark-slide-container [data], .remark-slide-container [style*="url("], .remark-slide-container [srcset]');
    for (const el of els) {
      const cands = [];
      for (const attr of ['src', 'href', 'data']) {
        const v = el.getAttribute(attr);
        if (v) try { cands.push(new URL(v, document.baseURI).href); } catch (e) {}
      }
      const st = el.getAttribute('style') || '';
      for (const m of st.matchAll(/url\(\s*['"]?([^'")]+)['"]?\s*\)/g)) {
        try { cands.push(new URL(m[1], document.baseURI).href); } catch (e) {}
      }
      for (const u of cands) if (want.has(u) && !(u in where)) where[u] = slideOf(el);
    }
    return where;
  }

  // A sheet: the given slides (1-based numbers) as a grid of small slides,
  // each labelled with its number; one screenshot then covers them all.
  function sheet(numbers, cols, tw, th, label) {
    let st = document.getElementById('labdeck-sheet-style');
    if (!st) {
      st = document.createElement('style');
      st.id = 'labdeck-sheet-style';
      st.textContent = 'body.labdeck{background:#555}' +
        '.remark-slide-container{display:none!important}' +
        '.remark-slide-container.labdeck-thumb{display:block!important;inset:auto;position:absolute}' +
        '.remark-slide-scaler{box-shadow:none}' +
        '.labdeck-thumb-label{position:absolute;font:12px/16px sans-serif;color:#fff;text-align:center;overflow:hidden;white-space:nowrap}';
      document.head.appendChild(st);
    }
    for (const el of document.querySelectorAll('.labdeck-thumb')) { el.classList.remove('labdeck-thumb'); el.removeAttribute('style'); }
    for (const el of document.querySelectorAll('.labdeck-thumb-label')) el.remove();
    const gap = 4, k = (tw - gap) / W;    // a dark gap keeps white slides apart
    numbers.forEach((n, j) => {
      const x = (j % cols) * tw, y = Math.floor(j / cols) * (th + label);
      const el = slides[n - 1];
      el.classList.add('labdeck-thumb');
      el.setAttribute('style', 'left:' + (x + gap / 2) + 'px;top:' + (y + gap / 2) + 'px;width:' + (tw - gap) +
                      'px;height:' + (th - gap) + 'px;--s:' + k);
      const l = document.createElement('div');
      l.className = 'labdeck-thumb-label';
      l.textContent = n + (el.getAttribute('data-name') ? ' #' + el.getAttribute('data-name') : '');
      l.setAttribute('style', 'left:' + x + 'px;top:' + (y + th) + 'px;width:' + tw + 'px;height:' + label + 'px');
      document.body.appendChild(l);
    });
    return numbers.length;
  }

  window.__labdeckCheck = { walk, player, settle, images, links, locate, sheet, count: () => slides.length };
  return slides.length;
}
