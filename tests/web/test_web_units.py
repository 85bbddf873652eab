"""The app's parts that need no browser: texts in both languages, the start request, the Host rule."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from biofeedback.errors import InputError
from biofeedback.practices.texts import flatten
from biofeedback.web.live import StartRequest
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
