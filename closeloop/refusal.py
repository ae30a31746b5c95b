"""The one refusal type: a reason the user can act on, named by its catalog key, with the values it shows."""

from __future__ import annotations


class Refused(Exception):
    """Raised wherever bad input or a forbidden change stops a command or a page; nothing was written."""

    def __init__(self, key: str, **details):
        super().__init__(key, details)
        self.key = key
        self.details = details

    def text(self, lang: str) -> str:
        from closeloop import i18n  # i18n is plain Python; imported late so this module stays a leaf
        return i18n.translate(lang, self.key, **self.details)
