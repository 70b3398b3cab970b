// The facts of every slide of a remark-style page, read the same way from
// remark's DOM and from labdeck's (labdeck/compare.py runs this in both).
() => {
  const BLOCK = new Set(['P', 'UL', 'OL', 'LI', 'PRE', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'BLOCKQUOTE',
    'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'HR', 'DIV']);
  // Not part of what is compared: the slide number, markmaker's hidden `.debug[...]`
  // footer, diagrams (drawn at build time by labdeck, in the browser by remark).
  const skipped = (el) => el.tagName === 'SCRIPT' || el.tagName === 'STYLE' || el.tagName === 'svg' ||
    el.classList.contains('remark-slide-number') || el.classList.contains('debug') ||
    el.classList.contains('mermaid');
  const classed = (el) => el.tagName.toLowerCase() + (el.classList.length ? '.' + [...el.classList].sort().join('.') : '');

  // a paragraph holding nothing but a skipped element (markmaker's `.debug[...]` line)
  const onlySkipped = (el) => el.tagName === 'P' && el.children.length > 0 &&
    [...el.children].every(skipped) && text(el, []).join('').trim() === '';

  function structure(el) {
    const out = [];
    for (const child of el.children) {
      if (skipped(child) || onlySkipped(child)) continue;
      const tag = child.tagName;
      if (tag === 'PRE') { out.push('pre'); continue; }
      if (BLOCK.has(tag) || (tag === 'SPAN' && child.classList.length)) {
        const inner = structure(child);
        const name = tag === 'DIV' || tag === 'SPAN' ? classed(child) : tag.toLowerCase();
        out.push(inner.length ? name + '[' + inner.join(' ') + ']' : name);
      } else {
        out.push(...structure(child));
      }
    }
    return out;
  }

  function text(el, parts) {
    for (const node of el.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) { parts.push(node.data); continue; }
      if (node.nodeType !== Node.ELEMENT_NODE || skipped(node)) continue;
      const block = BLOCK.has(node.tagName) || node.tagName === 'BR' || node.classList.contains('remark-code-line');
      if (block) parts.push(' ');
      if (node.tagName === 'IMG') parts.push('[img]');
      text(node, parts);
      if (block) parts.push(' ');
    }
    return parts;
  }

  function kept(root, selector) {
    return [...root.querySelectorAll(selector)].filter((el) => {
      for (let e = el; e && e !== root; e = e.parentElement) if (skipped(e)) return false;
      return true;
    });
  }

  const containers = document.querySelectorAll('.remark-slides-area .remark-slide-container');
  return [...containers].map((container) => {
    const content = container.querySelector('.remark-slide-content');
    const classes = [...content.classList].filter((c) => c !== 'remark-slide-content' && !c.startsWith('hljs')).sort();
    return {
      classes: classes,
      structure: structure(content).join(' '),
      text: text(content, []).join('').replace(/[ \t\n\r\f]+/g, ' ').trim(),
      links: kept(content, 'a[href]').map((a) => a.getAttribute('href')),
      code: kept(content, 'pre').map((pre) => {
        const lines = pre.querySelectorAll('.remark-code-line');
        return lines.length ? [...lines].map((l) => l.textContent) : pre.textContent.split('\n');
      }),
    };
  });
}
