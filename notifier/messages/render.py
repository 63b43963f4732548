"""Rendering: one place that turns a template name, a language and a context into text.

Templates live in `templates/<lang>/` (long per-language bodies) and `templates/shared/`
(layouts whose strings go through the Babel catalogs). Each language has its own Jinja2
environment, compiled once per process. An e-mail template `<name>.txt` sets `subject` with
`{% set subject = ... %}`; `<name>.html` is the HTML alternative (autoescaped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from notifier.i18n import LANGUAGES, format_day, format_time, format_when, load_translations


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str
    language: str
    attachments: tuple[Attachment, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LetterContent:
    """A template's content as a letter: its subject as the title, its text in paragraphs."""

    title: str
    paragraphs: tuple[str, ...]
    language: str


class Renderer:
    def __init__(self, template_dir: Path, locale_dir: Path, tz: ZoneInfo) -> None:
        self.tz = tz
        self.template_dir = template_dir
        self._envs = {lang: self._make_env(lang, template_dir, locale_dir) for lang in LANGUAGES}
        # (language, template) -> its HTML template, or the shared `email.html`. Jinja2 caches the
        # templates it finds but not the ones it does not: without this, every e-mail without its
        # own HTML would search the folders and raise TemplateNotFound once more.
        self._html: dict[tuple[str, str], jinja2.Template] = {}
        # Letters reuse the e-mail templates under the letter layout (`templates/letter/email.txt`
        # comes before the e-mail one); an overlay shares the filters and catalogs.
        self._letter_envs = {
            lang: env.overlay(loader=jinja2.FileSystemLoader(
                [template_dir / lang, template_dir / "letter", template_dir / "shared"]))
            for lang, env in self._envs.items()
        }

    def _make_env(self, language: str, template_dir: Path, locale_dir: Path) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([template_dir / language, template_dir / "shared"]),
            extensions=["jinja2.ext.i18n"],
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=jinja2.StrictUndefined,
            # Compiled once per process: no stat() of the template file on every render.
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.install_gettext_translations(load_translations(locale_dir, language), newstyle=True)  # type: ignore[attr-defined]
        env.filters["when"] = lambda v: format_when(_as_datetime(v), language, self.tz)
        env.filters["day"] = lambda v: format_day(_as_date(v, self.tz), language)
        env.filters["clock"] = lambda v: format_time(_as_datetime(v), language, self.tz)
        env.filters["paragraph"] = paragraph_html
        env.globals["language"] = language
        return env

    def env(self, language: str) -> jinja2.Environment:
        return self._envs[language]

    def email(self, template: str, language: str, context: dict[str, Any]) -> EmailContent:
        """Render `<template>.txt`; the HTML part is made from the same text, paragraph by paragraph.

        Writing each letter once (as text) keeps the two parts from drifting apart, as GOV.UK
        Notify does. A template may still ship its own `<template>.html`.
        """
        env = self._envs[language]
        text_module = env.get_template(f"{template}.txt").make_module(context)
        subject = " ".join(str(getattr(text_module, "subject")).split())
        text = str(text_module).strip() + "\n"
        html_template = self._html.get((language, template))
        if html_template is None:
            try:
                html_template = env.get_template(f"{template}.html")
            except jinja2.TemplateNotFound:
                html_template = env.get_template("email.html")
            self._html[(language, template)] = html_template
        html = html_template.render({**context, "subject": subject, "paragraphs": paragraphs(text)})
        return EmailContent(subject=subject, text=text, html=html, language=language)

    def letter(self, template: str, language: str, context: dict[str, Any]) -> LetterContent:
        """`<template>.txt`, written once for e-mail, as a letter: the same greeting, body and
        signature, without the e-mail footer; the subject becomes the title."""
        module = self._letter_envs[language].get_template(f"{template}.txt").make_module(context)
        title = " ".join(str(getattr(module, "subject", "")).split())
        return LetterContent(title=title, paragraphs=tuple(paragraphs(str(module))), language=language)

    def letter_labels(self, language: str) -> dict[str, str]:
        """The words on a letter besides its text (`templates/letter/letter-labels.txt`)."""
        module = self._letter_envs[language].get_template("letter-labels.txt").make_module({})
        return {k: str(getattr(module, k)) for k in ("date", "reference", "page", "phone", "filename")}

    def text(self, template: str, language: str, context: dict[str, Any]) -> str:
        """A plain-text message such as an SMS: whitespace-trimmed, nothing else rewritten."""
        return self._envs[language].get_template(f"{template}.txt").render(context).strip()

    def page(self, template: str, language: str, context: dict[str, Any]) -> str:
        return self._envs[language].get_template(template).render(context)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _as_date(value: Any, tz: ZoneInfo) -> date | datetime:
    if isinstance(value, (date, datetime)):
        return value.astimezone(tz) if isinstance(value, datetime) else value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).astimezone(tz)


_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs of a plain-text body (the signature dashes dropped)."""
    parts = [re.sub(r"^-- ?\n", "", p.strip("\n")) for p in re.split(r"\n\s*\n", text)]
    return [p for p in parts if p.strip() and p.strip() != "--"]


def paragraph_html(text: str) -> Markup:
    """Escape a paragraph, keep its line breaks and make bare URLs into links."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        url = escape(m.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out).replace("\n", "<br>\n"))
