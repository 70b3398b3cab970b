"""labdeck: remark-syntax Markdown decks → pre-rendered offline HTML, runnable labs, browser checks."""
__version__ = "0.2.0"
