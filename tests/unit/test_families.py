"""Which family a module is, from what ``ATI`` and ``AT+CGMR`` say (``modem.core.families``)."""

from __future__ import annotations

import pytest

from modem.core.families import TRAITS, Family, family_of
from modem.core.urc_watch import RearmBehaviour, UrcHealth


@pytest.mark.parametrize(("model", "revision", "family"), [
    ("EC25", "EC25EFAR06A06M4G", Family.EC2X),
    ("EG25", "EG25GGBR07A08M2G", Family.EC2X),  # an EG25-G's own ATI
    ("EM05", None, Family.EC2X),
    ("BG96", "BG96MAR02A07M1G", Family.BG96),
    ("BG95-M3", None, Family.BG95),
    ("BG77", None, Family.BG95),
    ("EC200U", None, Family.EC200U),
    ("EG915U", None, Family.EC200U),
    ("LTE Module", "EC200UCNAAR02A06M08", Family.EC200U),  # the revision tells
    ("EG800K", None, Family.EG800K),
    ("SIM7600E", "LE20B04SIM7600M22", Family.UNKNOWN),
])
def test_the_family_is_read_from_the_model_or_the_revision(model, revision, family):
    assert family_of(model, revision) is family


def test_only_the_manuals_firmware_and_unknown_ones_use_push_mode():
    assert {f for f, traits in TRAITS.items() if traits.push} == {Family.EC2X, Family.UNKNOWN}


def test_a_documented_rearm_is_assumed_but_never_overrides_what_the_module_showed():
    health = UrcHealth()
    health.assume_rearm(RearmBehaviour.DRAIN)
    assert health.rearm is RearmBehaviour.DRAIN
    health.note_data_by_poll(after_short_read=True)
    health.note_data_by_poll(after_short_read=True)
    assert health.rearm is RearmBehaviour.EMPTY
    health.assume_rearm(RearmBehaviour.DRAIN)  # a later bring-up of the same module
    assert health.rearm is RearmBehaviour.EMPTY
