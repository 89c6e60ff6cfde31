"""The driver's limits (``modem.core.limits``) and the emulator's (``modem.emulator.manual``) agree.

Both are transcriptions of the same manual made independently on purpose
(docs/emulator.md, "Inside"): this test is where a slip on either side shows,
instead of the driver and the emulator agreeing on a wrong number.
"""

from __future__ import annotations

from modem.core import errors, limits
from modem.emulator import manual


def test_payload_limits_agree() -> None:
    assert (limits.MAX_SEND, limits.MAX_RECV) == (manual.MAX_SEND, manual.MAX_RECV) == (1460, 1500)


def test_id_ranges_agree() -> None:
    assert range(limits.CLIENT_IDS) == manual.CLIENT_IDS == range(12)
    assert range(limits.SSL_CONTEXTS) == manual.SSL_CONTEXT_IDS == range(6)


def test_cipher_tables_name_the_same_codes() -> None:
    assert set(limits.CIPHER_SUITES) == set(manual.CIPHER_SUITES) | {manual.ALL_SUITES}
    assert limits.ALL_CIPHER_SUITES == manual.ALL_SUITES == 0xFFFF
    assert len(limits.CIPHER_SUITES) == 32  # manual Table 2: 31 suites, and 0xFFFF for all


def test_error_meanings_agree() -> None:
    """Every 550-574 text the emulator answers with is the driver's meaning (0 is success)."""
    texts = {code: text for code, text in manual.IP_ERROR_TEXT.items() if code != 0}
    assert sorted(texts) == list(range(550, 575))
    for code, text in texts.items():
        assert errors.error_for_code(code).meaning == text, code
