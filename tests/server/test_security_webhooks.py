"""A receiver's signature check on headers a stranger wrote: False, never an exception."""

from __future__ import annotations

import pytest

from memkit.server._webhook_delivery import sign, verify_signature

BODY = b'{"event":"memory_add"}'
NOW = 1_700_000_000


@pytest.mark.parametrize(
    "header",
    [
        "t=1700000000,v1=\u00e9",  # compare_digest raises on non-ASCII text
        "t=\u00b2,v1=ab",  # isdigit() is True for "²", int() is not
        "t=\u0661\u0667,v1=ab",  # Arabic-Indic digits: int() takes them
        "",
        "t=,v1=",
        "v1=" + "0" * 64,
    ],
)
def test_a_malformed_signature_header_is_refused_not_raised(header) -> None:
    assert verify_signature("whsec_x", BODY, header, now=NOW) is False


def test_a_good_signature_still_passes_beside_a_malformed_candidate() -> None:
    good = sign("whsec_x", BODY, NOW)
    assert verify_signature("whsec_x", BODY, good + ",v1=\u00e9", now=NOW)
    assert not verify_signature("whsec_x", BODY, good, now=NOW + 301)
