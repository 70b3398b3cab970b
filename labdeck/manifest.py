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
    "kind-config", "labs-setup", "lang",
}


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
        text = raw.decode("utf-8")
    except OSError as e:
        raise BuildError(rel, None, f"cannot read manifest: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise BuildError(rel, raw.count(b"\n", 0, e.start) + 1, f"not UTF-8 text (byte 0x{raw[e.start]:02x})") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        values = yaml.SafeLoader("").construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise BuildError(rel, line, f"invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise BuildError(rel, None, f"invalid YAML: {e}") from None
    if not isinstance(values, dict) or not isinstance(node, yaml.MappingNode):
        raise BuildError(rel, 1, "a manifest must be a YAML mapping (title:, content:, ...)")
    content_node = None
    for key, value in node.value:
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
    for key in ("title", "chat", "gitrepo", "slides", "slidenumberprefix"):
        if values.get(key) is not None and not isinstance(values[key], (str, int, float)):
            raise BuildError(rel, _key_line(node, key), f"'{key}' must be a string")
    values = {k: ("" if v is None else v) for k, v in values.items()}
    for key in ("title", "chat", "gitrepo", "slides", "slidenumberprefix"):
        values[key] = str(values.get(key, ""))
    if "zip" not in values:
        slides = values["slides"]
        values["zip"] = slides + ("slides.zip" if slides.endswith("/") or not slides else "/slides.zip")
    values.setdefault("html", path.stem + ".html")
    return Manifest(path, rel, values, content, exclude)


def _key_line(node: yaml.MappingNode, key: str) -> int:
    for k, _ in node.value:
        if k.value == key:
            return k.start_mark.line + 1
    return 1
