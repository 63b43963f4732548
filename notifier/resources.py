"""Where the templates and translations are: the data packages `notifier.templates` and
`notifier.locale`, found through importlib.resources.

In the repository they are the top-level folders `templates/` and `locale/`; pyproject.toml maps
them into the package, so a wheel carries them and an editable install points at the checkout.
`locale/` is found beside `templates/`, in the checkout as in the wheel. Jinja2 and Babel read from folders, so the package must be installed as files (not zipped).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(package: str) -> Path:
    root = files(package)
    path = Path(str(root))
    if not path.is_dir():  # pragma: no cover - a zipped install
        raise RuntimeError(f"{package} must be installed as files, not zipped ({root})")
    return path


TEMPLATE_DIR = _folder("notifier.templates")
#: Beside the templates in both layouts (`locale/` has no `__init__.py`: as a package at the top of
#: a checkout it would shadow the standard library's `locale` for anything run from there).
LOCALE_DIR = TEMPLATE_DIR.parent / "locale"
