"""Where templates, the stylesheet and the player come from.

labdeck's own `templates/` (Jinja2 templates, deck.css, deck.js) is package
data: installed as `labdeck/templates/` in a wheel, the top-level `templates/`
folder in a checkout or an editable install. A project may override any of
them, file by file, from its own `templates/` folder (MkDocs' `custom_dir`):
a file there wins over ours, and its other files (a logo, a font) are copied
into `dist/assets/` beside ours.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _builtin() -> Path:
    packaged = PACKAGE / "templates"            # a wheel
    return packaged if packaged.is_dir() else PACKAGE.parent / "templates"   # a checkout


BUILTIN = _builtin()
ASSETS = ("deck.css", "deck.js")                # copied to dist/assets/ (with pygments.css)


class Templates:
    """The template folders of a build: the project's own first, then labdeck's."""

    def __init__(self, custom: Path | None = None):
        custom = Path(custom) if custom is not None else Path("templates")
        self.wanted = custom                    # where the project's templates would be
        # labdeck's own checkout has templates/ at its root: that is no override
        self.custom = custom.resolve() if custom.is_dir() and custom.resolve() != BUILTIN else None
        self._env = None

    @property
    def folders(self) -> list[Path]:
        return ([self.custom] if self.custom else []) + [BUILTIN]

    def find(self, name: str) -> Path:
        """The file that provides `name` (the project's, else ours)."""
        for folder in self.folders:
            if (folder / name).is_file():
                return folder / name
        return BUILTIN / name

    def files(self) -> list[Path]:
        """Every file a build reads from the template folders (stamps depend on them)."""
        return sorted(p for folder in self.folders for p in folder.iterdir() if p.is_file())

    def absent(self) -> set[Path]:
        """Files that would change the output by appearing: an override of one of ours,
        or the project's templates/ folder itself."""
        if not self.custom:
            folder = self.wanted.resolve()
            return set() if folder == BUILTIN else {folder}     # labdeck's own checkout: never an override
        return {self.custom / p.name for p in BUILTIN.iterdir() if p.is_file() and not (self.custom / p.name).exists()}

    def extra_assets(self) -> dict[str, Path]:
        """The project's own static files (not templates, not ours): name → file."""
        if not self.custom:
            return {}
        return {p.name: p for p in sorted(self.custom.iterdir())
                if p.is_file() and not p.name.endswith(".j2") and p.name not in ASSETS
                and not p.name.startswith(".")}

    def environment(self):
        """One Jinja2 environment per project: templates compile once (and reload
        when their file changes, for watch mode)."""
        if self._env is None:
            from jinja2 import Environment, FileSystemLoader, select_autoescape
            self._env = Environment(loader=FileSystemLoader([str(f) for f in self.folders]),
                                    autoescape=select_autoescape(default=True), auto_reload=True)
        return self._env


_found: dict[Path | None, Templates] = {}


def project_templates(custom: Path | None = None) -> Templates:
    """The template folders for a project, made once per process (its Jinja2 environment is kept)."""
    t = Templates(custom)
    return _found.setdefault(t.custom, t)
