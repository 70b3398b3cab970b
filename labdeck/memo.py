"""Per-process memo tables (parsed chapters, render keys, line offsets...).

They make a deck that shares chapters with another, or a rebuild in watch
mode, skip work already done. A watch session edits for hours: each table is
emptied when full, so memory stays bounded.
"""
from __future__ import annotations


def remember(table: dict, key, value, limit: int = 20_000):
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value
