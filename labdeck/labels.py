"""Words labdeck itself puts on pages (index pages, notes), per language.

To add a language, add one entry to LABELS: the same keys as "en". A count
label is a pair (one, many); `plural_one` says which counts take the first.
A language without an entry falls back to English (with one build warning).
"""
from __future__ import annotations

LABELS: dict[str, dict] = {
    "en": {
        "decks": "Decks",
        "slides": ("{n} slide", "{n} slides"),
        "part": "Part {n}",
        "untranslated": "untranslated",
        "language": "Language",
        "no_deck": "No deck was built.",
        "topics": "Topics",
        "plural_one": (1,),
    },
    "fr": {
        "decks": "Supports",
        "slides": ("{n} diapositive", "{n} diapositives"),
        "part": "Partie {n}",
        "untranslated": "non traduit",
        "language": "Langue",
        "no_deck": "Aucun support n'a été construit.",
        "topics": "Sujets",
        "plural_one": (0, 1),
    },
}


def has_labels(lang: str) -> bool:
    return lang.lower() in LABELS


def labels(lang: str) -> "Labels":
    return Labels(lang)


class Labels:
    """`labels.decks`, `labels.part(2)`, `labels.slides(34)` in one language (English when unknown)."""

    def __init__(self, lang: str):
        self.table = LABELS.get(lang.lower(), LABELS["en"])

    def __getattr__(self, key: str):
        value = self.table.get(key, LABELS["en"].get(key))
        if value is None:
            raise AttributeError(key)
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            one, many = value
            return lambda n: (one if n in self.table.get("plural_one", (1,)) else many).format(n=n)
        if "{n}" in str(value):
            return lambda n: value.format(n=n)
        return value
