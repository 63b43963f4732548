"""Rendering: one place that turns a template name, a language and a context into text.

Templates live in `templates/<lang>/` (long per-language bodies) and `templates/shared/`
(layouts whose strings go through the Babel catalogs). Each language has its own Jinja2
environment, compiled once per process. An e-mail template `<name>.txt` sets `subject` with
`{% set subject = ... %}`; `<name>.html` is the HTML alternative (autoescaped).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from notifier.i18n import LANGUAGES, format_day, format_time, format_when, load_translations


#: E-mails rendered once per shared content and then filled in per person: template name -> the
#: context fields that differ from one reader to the next (the digest: the same changes go to a
#: whole site in one language; only the name and the signed links are the reader's own). Such a
#: field may only be printed as it is (`{{ name }}`, `{{ change.ack_url }}`, or as an argument of
#: `_()`): no filter, test or condition may look at it, because the shared rendering sees a
#: placeholder in its place. The template must have its own `.html`.
#: tests/messages/test_render_shared.py renders both ways and compares them byte for byte.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    # site and organisation stay in the shared part: a rendering per audience and language.
    "digest": frozenset({"name", "ack_url", "preferences_url", "unsubscribe_url", "message_id"}),
}
#: Shared renderings kept per process (each a few kB): audiences x languages x reminder sets.
SHARED_RENDERINGS = 256

# A placeholder is private-use characters around a number: nothing escapes or reflows them.
_MARK, _END = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_MARK}(\\d+){_END}")


class _Unshareable(Exception):
    """The context holds a placeholder character of its own: rendered the ordinary way."""


def _mask(value: Any, personal: frozenset[str], values: list[str]) -> Any:
    """`value` with each personal string field replaced by a numbered placeholder (appended to `values`)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in personal and isinstance(v, str):
                out[k] = f"{_MARK}{len(values)}{_END}"
                values.append(v)
            else:
                out[k] = _mask(v, personal, values)
        return out
    if isinstance(value, list):
        return [_mask(v, personal, values) for v in value]
    if isinstance(value, tuple):
        return tuple(_mask(v, personal, values) for v in value)
    if isinstance(value, str) and _MARK in value:
        raise _Unshareable
    return value


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
        # (language, template, masked context) -> (subject, text, HTML) with placeholders (`PERSONAL_FIELDS`).
        self._shared: OrderedDict[tuple[str, str, str], tuple[str, str, str]] = OrderedDict()
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
        Notify does. A template may still ship its own `<template>.html`. A template listed in
        `PERSONAL_FIELDS` is rendered once per shared content and filled in per reader.
        """
        personal = PERSONAL_FIELDS.get(template)
        if personal is not None:
            shared = self._email_shared(template, language, context, personal)
            if shared is not None:
                return shared
        return self.render_email(template, language, context)

    def render_email(self, template: str, language: str, context: dict[str, Any]) -> EmailContent:
        """`email` rendered in full, never from a shared rendering."""
        env = self._envs[language]
        text_module = env.get_template(f"{template}.txt").make_module(context)
        subject = " ".join(str(getattr(text_module, "subject")).split())
        text = str(text_module).strip() + "\n"
        html = self._html_template(template, language).render(
            {**context, "subject": subject, "paragraphs": paragraphs(text)})
        return EmailContent(subject=subject, text=text, html=html, language=language)

    def _html_template(self, template: str, language: str) -> jinja2.Template:
        html_template = self._html.get((language, template))
        if html_template is None:
            env = self._envs[language]
            try:
                html_template = env.get_template(f"{template}.html")
            except jinja2.TemplateNotFound:
                html_template = env.get_template("email.html")
            self._html[(language, template)] = html_template
        return html_template

    def _email_shared(self, template: str, language: str, context: dict[str, Any],
                      personal: frozenset[str]) -> EmailContent | None:
        """The e-mail from the shared rendering of its context with the personal fields as
        placeholders, then each placeholder replaced by the reader's value (escaped in the HTML,
        as autoescape would). None when it cannot be shared: rendered the ordinary way."""
        values: list[str] = []
        try:
            masked = _mask(context, personal, values)
        except _Unshareable:
            return None
        key = (language, template, json.dumps(masked, ensure_ascii=False, default=repr))
        rendered = self._shared.get(key)
        if rendered is None:
            if self._html_template(template, language).name == "email.html":
                return None  # the generic HTML links URLs found in the text: not shareable
            content = self.render_email(template, language, masked)
            if _MARK in content.subject:
                return None  # the subject's whitespace is normalised: a personal value there is not
            rendered = (content.subject, content.text, content.html)
            self._shared[key] = rendered
            if len(self._shared) > SHARED_RENDERINGS:
                self._shared.popitem(last=False)
        else:
            self._shared.move_to_end(key)
        subject, text, html = rendered
        escaped = [str(escape(v)) for v in values]
        # The text was stripped around placeholders: stripped again once they are filled in, it is
        # what stripping the text rendered with the values gives.
        text = _PLACEHOLDER.sub(lambda m: values[int(m.group(1))], text).strip() + "\n"
        html = _PLACEHOLDER.sub(lambda m: escaped[int(m.group(1))], html)
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
