"""Personal data removal: e-mails and public IPs (datatrove) plus Portuguese phone numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from datatrove.pipeline.formatters import PIIFormatter

# Portuguese numbers: optional +351/00351, then 9 digits starting with 2 (landline) or 9 (mobile),
# written together or in groups of three. The published code has such a regex switched off.
PT_PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)351[\s.-]?)?[29]\d{2}[\s.-]?\d{3}[\s.-]?\d{3}(?!\w)")


class PiiMasker:
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        # A single replacement string each: datatrove cycles through a tuple of replacements
        # across documents, which would make a document's text depend on its shard.
        self.datatrove = PIIFormatter(
            remove_emails=cfg["emails"],
            remove_ips=cfg["public_ips"],
            only_remove_public_ips=True,
            email_replacement=cfg["email_replacement"],
            ip_replacement=cfg["ip_replacement"],
        )
        self.phones = cfg["phones"]
        self.phone_replacement = cfg["phone_replacement"]

    def mask(self, text: str) -> tuple[str, int]:
        """Return the masked text and how many phone numbers were replaced."""
        text = self.datatrove.format(text)
        if not self.phones:
            return text, 0
        return PT_PHONE.subn(self.phone_replacement, text)
