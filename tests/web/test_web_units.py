"""The app's parts that need no browser: texts in both languages, the start request, the Host rule."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from biofeedback.errors import InputError
from biofeedback.practices.texts import flatten
from biofeedback.web.live import AssessRequest, StartRequest
from biofeedback.web.security import host_name

TEXTS = Path(__file__).resolve().parents[2] / "biofeedback" / "web" / "texts"


def test_every_page_text_exists_in_english_and_dutch():
    en = flatten(tomllib.loads((TEXTS / "en.toml").read_text()))
    nl = flatten(tomllib.loads((TEXTS / "nl.toml").read_text()))
    assert set(en) == set(nl)
    assert all(isinstance(v, str) and v for v in (*en.values(), *nl.values()))


def test_start_request_accepts_the_form():
    req = StartRequest.from_json({"practice": "box", "lang": "nl", "baseline_s": 30, "practice_s": 60.5,
                                  "recovery_s": 0, "source": "simulator", "speed": 10})
    assert (req.practice, req.lang, req.practice_s, req.speed) == ("box", "nl", 60.5, 10.0)


@pytest.mark.parametrize("data, word", [
    ([], "JSON object"),
    ({"practise": "box"}, "practise"),
    ({"lang": "fr"}, "language"),
    ({"practice_s": 0}, "practice_s"),
    ({"baseline_s": -1}, "baseline_s"),
    ({"baseline_s": "1"}, "baseline_s"),
    ({"speed": 0}, "speed"),
    ({"speed": 1000}, "speed"),
    ({"source": "strap", "speed": 5}, "speed"),
    ({"source": "wifi"}, "source"),
    ({"seed": 1.5}, "seed"),
    ({"speed": True}, "speed"),
    ({"rate_bpm": 40}, "rate_bpm"),
    ({"rate_bpm": "6"}, "rate_bpm"),
])
def test_start_request_refuses_bad_fields_naming_them(data, word):
    with pytest.raises(InputError, match=word):
        StartRequest.from_json(data)


@pytest.mark.parametrize("header, name", [
    ("127.0.0.1:8000", "127.0.0.1"), ("LOCALHOST:1", "localhost"), ("[::1]:80", "[::1]"),
    ("evil.example:8000", "evil.example"), ("127.0.0.1.evil.example", "127.0.0.1.evil.example"), ("", ""),
])
def test_host_name(header, name):
    assert host_name(header) == name


def test_start_request_takes_a_rate_or_leaves_it_to_the_stored_one():
    assert StartRequest.from_json({"rate_bpm": 5.25}).rate_bpm == 5.25
    assert StartRequest.from_json({"rate_bpm": None}).rate_bpm is None


def test_assessment_request_gives_the_settings_of_assess():
    req = AssessRequest.from_json({"protocol": "stepped", "step_s": 60, "settle_s": 10, "rest_s": 6, "speed": 60,
                                   "rates_bpm": [6, 5]})
    assert req.settings() == {"protocol": "stepped", "rates_bpm": [6.0, 5.0], "step_s": 60.0, "settle_s": 10.0}
    assert AssessRequest.from_json({"protocol": "sliding"}).settings() == {"protocol": "sliding"}


@pytest.mark.parametrize("data, word", [
    ({"protocol": "fast"}, "protocol"),
    ({"protocol": "sliding", "step_s": 60}, "stepped"),
    ({"resonance_rate_bpm": 12}, "resonance_rate_bpm"),
    ({"rates_bpm": "6,5"}, "rates_bpm"),
    ({"rates_bpm": []}, "rates_bpm"),
    ({"rest_s": -1}, "rest_s"),
    ({"source": "strap", "speed": 2}, "speed"),
    ({"practice": "box"}, "practice"),
])
def test_assessment_request_refuses_bad_fields_naming_them(data, word):
    with pytest.raises(InputError, match=word):
        AssessRequest.from_json(data)
