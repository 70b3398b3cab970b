"""Read a deck manifest (container.training-compatible YAML) and validate it.

Every content item keeps the manifest line it was written on, so errors
about a missing chapter point at the manifest line that names it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .diagnostics import BuildError, Diagnostics

# libyaml's parser when PyYAML has it (several times faster), the same safe constructor either way.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KNOWN_KEYS = {
    "title", "chat", "gitrepo", "gitbranch", "slides", "zip", "html",
    "slidenumberprefix", "exclude", "content",
    # labdeck additions (documented in README)
    "kind-config", "labs-setup", "lang", "theme", "css",
}


# Keys whose value is one string (numbers are read as their text).
STRING_KEYS = ("title", "chat", "gitrepo", "gitbranch", "slides", "zip", "html", "slidenumberprefix",
               "kind-config", "lang")
MAX_NODES = 20_000      # YAML nodes after alias expansion: a real manifest has a few hundred
MAX_DEPTH = 50          # nesting levels of YAML (content parts are 2 or 3 deep)


@dataclass
class ContentItem:
    """A `content` entry: a chapter path, an inline fragment, or a nested list (a part)."""
    line: int                              # 1-based line in the manifest
    path: str | None = None                # chapter file, relative to the source root
    text: str | None = None                # inline Markdown fragment
    children: list["ContentItem"] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.path is None and self.text is None


@dataclass
class Manifest:
    path: Path
    rel: str                               # path as shown in diagnostics
    values: dict                           # plain YAML values
    content: list[ContentItem]
    exclude: list[str]
    lines: dict[str, int] = field(default_factory=dict)   # top-level key → its line
    css: list[tuple[str, int]] = field(default_factory=list)   # (stylesheet path, manifest line)

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        return str(self.values.get("title", "")).strip()


def _content_items(node: yaml.Node, rel: str) -> list[ContentItem]:
    if not isinstance(node, yaml.SequenceNode):
        raise BuildError(rel, node.start_mark.line + 1, "'content' must be a list")
    items = []
    for child in node.value:
        line = child.start_mark.line + 1
        if isinstance(child, yaml.SequenceNode):
            items.append(ContentItem(line, children=_content_items(child, rel)))
        elif isinstance(child, yaml.ScalarNode):
            value = str(child.value)
            if "\n" in value:
                items.append(ContentItem(line + (1 if child.style in ("|", ">") else 0), text=value))
            else:
                items.append(ContentItem(line, path=value.strip()))
        else:
            raise BuildError(rel, line, "a content item must be a chapter path, a Markdown fragment or a list")
    return items


def display_path(path: Path) -> str:
    """Paths in messages: relative to the current folder when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_manifest(path: Path, diags: Diagnostics, extra_exclude: list[str] | None = None) -> Manifest:
    rel = display_path(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except OSError as e:
        raise BuildError(rel, None, f"cannot read manifest: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise BuildError(rel, raw.count(b"\n", 0, e.start) + 1, f"not UTF-8 text (byte 0x{raw[e.start]:02x})") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is not None:
            _check_graph(node, rel)
        values = yaml.SafeLoader("").construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise BuildError(rel, line, f"invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise BuildError(rel, None, f"invalid YAML: {e}") from None
    except RecursionError:
        raise BuildError(rel, None, f"invalid YAML: nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(values, dict) or not isinstance(node, yaml.MappingNode):
        raise BuildError(rel, 1, "a manifest must be a YAML mapping (title:, content:, ...)")
    content_node = None
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise BuildError(rel, key.start_mark.line + 1, "a manifest key must be a plain name")
        if key.value not in KNOWN_KEYS:
            diags.warning(rel, key.start_mark.line + 1, f"unknown manifest key '{key.value}'")
        if key.value == "content":
            content_node = value
    if content_node is None:
        raise BuildError(rel, 1, "manifest has no 'content' list")
    content = _content_items(content_node, rel)
    if not content:
        raise BuildError(rel, content_node.start_mark.line + 1, "'content' is empty: the deck would have no slides")
    exclude = values.get("exclude") or []
    if isinstance(exclude, str):
        exclude = [exclude]
    if not isinstance(exclude, list) or not all(isinstance(c, str) for c in exclude):
        raise BuildError(rel, _key_line(node, "exclude"), "'exclude' must be a list of slide classes")
    exclude = [str(c) for c in exclude] + list(extra_exclude or [])
    for key in STRING_KEYS:
        value = values.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            kind = {bool: "a boolean", list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)
            raise BuildError(rel, _key_line(node, key), f"'{key}' must be a string, not {kind} (quote the value)")
    values = {k: ("" if v is None else v) for k, v in values.items()}
    for key in STRING_KEYS:
        if key in values or key in ("title", "chat", "gitrepo", "slides", "slidenumberprefix"):
            values[key] = str(values.get(key, ""))
    if "zip" not in values:
        slides = values["slides"]
        values["zip"] = slides + ("slides.zip" if slides.endswith("/") or not slides else "/slides.zip")
    values.setdefault("html", path.stem + ".html")
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return Manifest(path, rel, values, content, exclude, lines, _stylesheets(node, rel))


def _stylesheets(node: yaml.MappingNode, rel: str) -> list[tuple[str, int]]:
    """`css:` — one path or a list of paths (relative to the source root), each with its line."""
    for key, value in node.value:
        if key.value != "css":
            continue
        if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null":
            return []
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        if not all(isinstance(i, yaml.ScalarNode) and str(i.value).strip() for i in items):
            raise BuildError(rel, key.start_mark.line + 1, "'css' must be a list of stylesheet paths")
        return [(str(i.value).strip(), i.start_mark.line + 1) for i in items]
    return []


def _check_graph(root: yaml.Node, rel: str) -> None:
    """Refuse YAML that would expand without end: an alias inside its own anchor,
    aliases multiplying into more than MAX_NODES nodes (an "alias bomb"), nesting
    deeper than MAX_DEPTH. Walks the graph with its own stack (no recursion)."""
    count = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, object]] = []

    def children(node):
        if isinstance(node, yaml.MappingNode):
            return iter([n for pair in node.value for n in pair])
        if isinstance(node, yaml.SequenceNode):
            return iter(node.value)
        return iter(())

    def enter(node, parent):
        nonlocal count
        if id(node) in on_path:
            line = (parent or node).start_mark.line + 1
            raise BuildError(rel, line, "recursive YAML alias: a node contains itself")
        count += 1
        if count > MAX_NODES:
            raise BuildError(rel, node.start_mark.line + 1,
                             f"YAML aliases expand to more than {MAX_NODES:,} nodes: refused")
        if len(stack) >= MAX_DEPTH:
            raise BuildError(rel, node.start_mark.line + 1, f"YAML nested more than {MAX_DEPTH} levels deep")
        on_path.add(id(node))
        stack.append((node, children(node)))

    enter(root, None)
    while stack:
        node, it = stack[-1]
        child = next(it, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
        else:
            enter(child, node)


def _key_line(node: yaml.MappingNode, key: str) -> int:
    for k, _ in node.value:
        if k.value == key:
            return k.start_mark.line + 1
    return 1
