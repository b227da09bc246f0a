"""Sentences that state a fact in another order, put in the order the rewriting reads.

"The PIN for my debit card is 1984", "I changed my PIN to 5512", "My dentist appointment
got moved to May 10th", "Harry Potter is my favorite book": each says the value of one of
the speaker's things, but not as "my X is V", the form ``_first_person`` turns into a fact
and ``_fact_shape`` reads as a slot. Kept apart so the grammar of rewriting stays short.

    >>> reorder("The PIN for my debit card is 1984")
    'my debit card PIN is 1984'
"""

from __future__ import annotations

import re

__all__ = ["reorder"]

_I = re.IGNORECASE

_REORDER: list[tuple[re.Pattern[str], str]] = [
    # "The PIN for my debit card is 1984" -> "My debit card PIN is 1984"
    (re.compile(r"^the (?P<x>[\w -]+?) (?:for|of|on|to) my (?P<y>[\w' -]+?) (?P<be>is|are) "
                r"(?P<v>.+)$", _I), r"my \g<y> \g<x> \g<be> \g<v>"),
    # "The code for the garage door is 5512" -> "My garage door code is 5512"
    (re.compile(r"^the (?P<x>code|password|pin|passcode|combination|number|address|username)"
                r" (?:for|of|to|on) the (?P<y>[\w' -]+?) (?P<be>is|are) (?P<v>.+)$", _I),
     r"my \g<y> \g<x> \g<be> \g<v>"),
    # "The wifi password at home is X" -> "My home wifi password is X"
    (re.compile(r"^the (?P<x>[\w -]+?) at (?P<y>home|work) (?P<be>is|are) (?P<v>.+)$", _I),
     r"my \g<y> \g<x> \g<be> \g<v>"),
    # "I changed my PIN to 5512", "My door code changed to 8890" -> "My PIN is 5512"
    (re.compile(r"^(?:I |we |they )?(?:have )?(?:just )?(?:changed|updated|switched|reset|set"
                r"|moved|rescheduled) "
                r"(?:my|the|our) (?P<x>[\w' -]+?) to (?P<v>.+)$", _I), r"my \g<x> is \g<v>"),
    (re.compile(r"^my (?P<x>[\w' -]+?) (?:(?:has |have |just |was |were |got |has been "
                r"|have been )?(?:changed|rescheduled|pushed|switched|updated)|(?:was|were|got"
                r"|has been|have been) moved) to (?P<v>.+)$", _I),
     r"my \g<x> is \g<v>"),
    # "I reset the garage code, it's 0938 now" -> "My garage code is 0938 now"
    (re.compile(r"^I (?:have )?(?:just )?(?:changed|updated|reset|set|got) (?:my|the|our) "
                r"(?P<x>[\w' -]+?)(?:,| and| -) it(?:'s| is) (?:now )?(?P<v>.+)$", _I),
     r"my \g<x> is \g<v>"),
    # "New phone number: 07700 900456" -> "My new phone number is 07700 900456"
    (re.compile(r"^(?:my )?(?P<x>[\w' -]*?(?:number|email|address|code|pin|password|username"
                r"|handle|birthday|name)): (?P<v>.+)$", _I), r"my \g<x> is \g<v>"),
    # "Remember that my bike lock combination is 2714" -> "My bike lock ... is 2714"
    (re.compile(r"^(?:please )?(?:remember|note|keep in mind|for the record|just so you know)"
                r"(?: that)?,? (?=(?:I|my|we|our)\b)", _I), ""),
    # "Priya and I got engaged" -> "I am engaged to Priya"
    (re.compile(r"^(?P<who>[A-Z][a-z]+|my \w+) and I (?:just |recently )?(?:got|are|were) "
                r"(?P<what>engaged|married)(?P<rest>.*)$"), r"I am \g<what> to \g<who>\g<rest>"),
    # "Harry Potter is my favorite book" -> "My favorite book is Harry Potter"
    (re.compile(r"^(?P<v>[A-Z\"'][\w\"' .:-]*?) (?P<be>is|are) (?:my|our) "
                r"(?P<x>(?:all-time |absolute )?(?:favou?rite|fave|go-to) [\w -]+)$"),
     r"my \g<x> \g<be> \g<v>"),
    # "Sushi is something I like" -> "I like sushi"
    (re.compile(r"^(?P<x>[\w' -]+?) (?:is|are) (?:something|one thing|what) I (?:really )?"
                r"(?P<v>like|love|enjoy|hate)$", _I), r"I \g<v> \g<x>"),
    # "These days my favourite band is X" -> "My favourite band is X"
    (re.compile(r"^(?:these days|nowadays|currently|at the moment|lately|recently|now),? "
                r"(?=(?:my|our) )", _I), ""),
]  # fmt: skip


def reorder(text: str) -> str:
    """``text`` with the first matching pattern of each kind put in "my X is V" order."""
    for pattern, replacement in _REORDER:
        text = pattern.sub(replacement, text, count=1)
    return text
