"""PEM certificate fields: checked structurally, so a placeholder or a truncated paste fails validation."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Optional

from pydantic import AfterValidator

_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.S)


def check_certificates(value: Optional[str]) -> Optional[str]:
    """Every block must be base64 of a DER SEQUENCE; at least one block must exist."""
    if value is None:
        return value
    blocks = _BLOCK.findall(value)
    if not blocks:
        raise ValueError("must be one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)")
    for i, body in enumerate(blocks):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"certificate {i + 1} is not valid base64 (a placeholder or a broken paste?)") from None
        if len(der) < 64 or der[0] != 0x30:
            raise ValueError(f"certificate {i + 1} is not a DER certificate")
    return value


PemCertificates = Annotated[str, AfterValidator(check_certificates)]
