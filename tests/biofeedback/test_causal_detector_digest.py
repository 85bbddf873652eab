"""The live (causal) artifact detector reproduces, label for label and flag for flag, the detector
of main 4e685ba (before its compiled rewrite): stored sessions replay bit for bit.

The digests below are sha256 of the settled beats (index, label code, valid) that main 4e685ba's
:class:`CausalArtifactDetector` gave on seeded synthetic series (always run) and on recordings of
../shared/data (skipped when absent); ``fixtures/causal_detector_snapshot_4e685ba.json`` is a
snapshot taken by that code mid-stream, which must restore and continue exactly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from biofeedback.hrv.artifacts import LABELS, ArtifactSettings, CausalArtifactDetector

FIXTURES = Path(__file__).parent / "fixtures"

#: The detector settings of engine settings version 2 (the default), version 1, the paper as
#: published (no floor, no cap: thresholds can be 0 and normalised values NaN) and small windows.
SETTINGS: dict[str, ArtifactSettings] = {
    "v2": ArtifactSettings(),
    "v1": ArtifactSettings(min_threshold_frac=0.0, neighbour_line=0.0),
    "paper": ArtifactSettings(min_threshold_ms=0.0, max_threshold_frac=0.0, min_threshold_frac=0.0,
                              neighbour_line=0.0),
    "small": ArtifactSettings(window_beats=5, median_beats=3),
    "w11m1": ArtifactSettings(window_beats=11, median_beats=1, alpha=3.0),
}


def _synthetic(seed: int, n: int = 2500) -> tuple[np.ndarray, np.ndarray]:
    """Seeded RR series (ms) with every kind of artifact, ties, flat stretches and gaps."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    rr = 820.0 + 60.0 * np.sin(2 * np.pi * k / rng.uniform(4.0, 12.0)) + 80.0 * np.sin(k / 400.0)
    rr = rr + rng.normal(0.0, rng.uniform(3.0, 25.0), n)
    quant = seed % 3
    if quant == 0:
        rr = np.round(rr * 128 / 1000) * 1000 / 128  # 1/128 s Holter ticks: many ties
    elif quant == 1:
        rr = np.round(rr)
    flat = rng.integers(0, n - 120)
    rr[flat: flat + 120] = rr[flat]  # a flat stretch: quartile deviations of 0
    for i in rng.integers(3, n - 3, n // 40):
        kind = rng.integers(0, 6)
        if kind == 0:  # premature beat and its compensatory pause
            rr[i], rr[i + 1] = rr[i] * 0.65, rr[i + 1] * 1.35
        elif kind == 1:  # missed beat
            rr[i] *= 2.0
        elif kind == 2:  # extra beat
            rr[i], rr[i + 1] = rr[i] * 0.4, rr[i + 1] * 0.6
        elif kind == 3:
            rr[i] *= rng.uniform(1.2, 1.8)
        elif kind == 4:
            rr[i] *= rng.uniform(0.3, 0.8)
        else:  # a bigeminy stretch
            rr[i: i + 20: 2] *= 0.6
    rr = np.abs(rr) + 200.0
    breaks = np.zeros(n, dtype=bool)
    breaks[rng.integers(0, n, 6)] = True
    short = rng.integers(0, n - 8)
    breaks[short: short + 8: 2] = True  # runs of 1-2 beats (never classified)
    return rr, breaks


def _settled_digest(rr: np.ndarray, breaks: np.ndarray | None, st: ArtifactSettings) -> str:
    det = CausalArtifactDetector(st)
    out = []
    for i, x in enumerate(rr.tolist()):
        if breaks is not None and breaks[i]:
            out += det.end_run()
        out += det.push(x)
    out += det.end_run()
    assert [s.index for s in out] == list(range(rr.size))
    codes = bytes(LABELS.index(s.label) + 8 * s.valid for s in out)
    return hashlib.sha256(codes).hexdigest()


# (seed, settings) -> digest, computed with main 4e685ba's detector
SYNTHETIC_DIGESTS: dict[tuple[int, str], str] = {
    (0, 'v2'): 'ecfb1bba09be2ae7880b75812bce02bf050c0310ec083a297f3dbe06d9cde7d9',
    (0, 'v1'): '5476b55d54a05cbba4ec2b859abc2ae92016b7b24f74725d84c1fa0f3a72f1fe',
    (0, 'paper'): 'e3a30b2f7c5cc97129c8ce932c51e6d8f8cb14d5b76ccd8bda0788c048488305',
    (0, 'small'): '48dff0e9bfc4c600106776eed7bf19be53d360884c297780982cb57be88c5b76',
    (0, 'w11m1'): '4a116e35a838ea4d7e08ab5aa681ab53e844b0b29949bf77998aeb97436ce2bc',
    (1, 'v2'): '32bd42b4bbc2aa60b0f0d86f82c26477bcafd99ac8529c2a7899ba32aa3ffed3',
    (1, 'v1'): '2211edd5376a7a05bb4c5d2c2ad5e802676b253f2e89ef77008507f7b65b2a9d',
    (1, 'paper'): 'aa9124735ff4c29133863d835d55f8a7bfe242298b1c3ac0796e779dc1f188b2',
    (1, 'small'): 'd9e89cbb91db5bf3ef96a30316696c63c03eadab22f1d7d708516be2b9d89385',
    (1, 'w11m1'): '06a70f17a8c18395d0bb035defedce5de8af83463a6fabf7f4db82ee9921a3de',
    (2, 'v2'): '0d2a76a31ba5147e1426cae118028503c2893858e977aead845de3b90e611985',
    (2, 'v1'): '8e59543c955a3b72e8176707d6f750d571c25d87bba4f8d5ddbf59d6cce0db87',
    (2, 'paper'): '4f21769a119e1225bf849e0ad5b0b4ba35c87e916c22142df4895d34f55c1631',
    (2, 'small'): '0389d9fe6dc34c13bed283e80fbeb8ddf5edde06064eb9036ad32003bcd3bf83',
    (2, 'w11m1'): '12051bfebb9dbef1e536c38e582de99cfce01add945ce0a21c868c751f799989',
    (3, 'v2'): '15ace34950d532ed9fcf19fd1d4a24ca7fdbd36a9b26b5cf35358ca84614ec8d',
    (3, 'v1'): 'a5c212eda4947710e5ff64043f93922affcc02da05da2d4b57f1d050ae2aeee3',
    (3, 'paper'): '48852e1d72b92bc8f577018bff2e3589b8cd2345e40b9f372c22106676fc4e96',
    (3, 'small'): '00a45de5d34d4222249a5dda8617572e99d51062588fef66f45b5950d3a12bde',
    (3, 'w11m1'): 'e379f01657b46f66fc8af56667661942876e73e67a5bb3dd8095010d586e3525',
    (4, 'v2'): 'fa8fb4916c78012ccc6186fd9ade1aad683b5b73b06191f54bc932efc6561433',
    (4, 'v1'): '06652305c148e506414a2fbfb3d5a3644af2349218245417e370ee47ce6d3ecf',
    (4, 'paper'): 'd7e9b28bc71a39a6ca34a37b07feac1c9734c84d89527368f5bb185e76fa678a',
    (4, 'small'): 'a7d0d82fa5d6a25afd066aa78c018689485aafa590b7ff15079cfc248a8ad45e',
    (4, 'w11m1'): '9c59336e62b85fd58bf735af4e5793a2b7d14b6152ca9dfdabc6e99021a3f75d',
    (5, 'v2'): '95e3e374e7a1eee429d10de971bc96de0141f49158c4b9bb21c5cee13976f955',
    (5, 'v1'): '6c0d96aa9de56785e387c959b871c98a9b277e3db1e399f66e0252d9f5352a4d',
    (5, 'paper'): 'e4a92aa7f5e7a619307a42e550fd3e717816b01eba84ccce59649ed2e096a83e',
    (5, 'small'): 'b04c701dc67b3d9c3393e16f15b8b8265fcf4bd8da1b97229a47bc8d513fce77',
    (5, 'w11m1'): '9bfe415631531ec458639cb2c7b12c09eb930c33929dc15533aac70f9cd03f76',
    (6, 'v2'): '643c3fa69c7fc08af55c5005c25177d50ea47cb19e9601263c6f72d924ee989c',
    (6, 'v1'): 'd2d0f082f05a38ed61b6eca36c5da16a0521c29bfea81fd63eb9282f52525e42',
    (6, 'paper'): '0e0e30c1a91eb27bc43558962c14332a6c2067dd984fbc543f1b64755ade38c1',
    (6, 'small'): '6ae01f82eac421414037c400d304bc58dbe13c17775dd9d81bfbc0f23945eec6',
    (6, 'w11m1'): '1dc54e530597ed3c176af525f0365370d937c1ac0d31546e2fa2bf7e9c0d2d72',
    (7, 'v2'): '2b181d26f589b24cc530f0f593d8ddf553dea10a2af47287388b2bf798182535',
    (7, 'v1'): '294c2c1e3330b2962faa746df66ea5fe399f02a6b308bc3b61e1246e07915a79',
    (7, 'paper'): '1e5a6bf00c7464208f109d2f1774a7c8e10fd9415b4260f259c31f6ef9cae82e',
    (7, 'small'): 'cfaf9c945cbacc5122640294c177e481a994e09d2b0d647303f9fdb2a95a7d6d',
    (7, 'w11m1'): '2533953133ba1c282c7a9e4e8522f87e1d36308c5665355b2c63d5f9b3896186',
    (8, 'v2'): '03e7f3eb1e34a911be6b3c40ce3d60c3b08aa33489f6748ce551e5c6036fc276',
    (8, 'v1'): '72d0350e5d4b641d730b068e0f228fd9530d4fede2a11e3c9324a4ca669ef90d',
    (8, 'paper'): '75b8c0a28ad57f498f65e2601a156d69d241509b9e7a2d344ce7e99f3068dec4',
    (8, 'small'): '4599052957aeaa281d9c84521405ce412f3ede365dc1fdf38638c8ccf70dfd6a',
    (8, 'w11m1'): 'a7c4a1caf25571a503e0cd77b95da3b79df8957478c756dcbbff5d99cce03a04',
    (9, 'v2'): '9e80df967d942f53e00e47a0df06a7bbb956b737f7a8aa68ab9c7cd07805d0ce',
    (9, 'v1'): 'dd57c4fffbc570667c2ed2b19e1cb1657023e067f2482b6379398d13d8419697',
    (9, 'paper'): '825f7594114fcb3753c8c2f0934251c51faf50db849d1f9e762cf4f7063377b2',
    (9, 'small'): '08758d2c4b56ca50196db9f92e308ec1d352aec131f1e55d74cd28d22de839f7',
    (9, 'w11m1'): 'fa33cebe514132bce709b47f97a7c518179af1ecb336a884380315189eeb5356',
    (10, 'v2'): 'ce2b51c19a2b6cb31bb80b141e9e86ebdc83e9fa913231ed8740bcf92c047353',
    (10, 'v1'): 'd09a2ea1f605160db15da45520c29ccc9df93d8c9183d9db8ccb3dd112dad5cc',
    (10, 'paper'): '04ff0a030647b5eb126ed787bcef4201c83f631f78334e87cce96b721d7cd340',
    (10, 'small'): '92e7625f9c01e5abc71e0c50d14ca5d2dbb9455634d2a3addeb4273006c5cfbd',
    (10, 'w11m1'): '9d76443e769f6b55cff379950848d5c74242c67c3702a0ec75346ebe04a6b2b3',
    (11, 'v2'): '07c873a40ce47f68fcc2dec058214f661503e00a13ac68df52b60dad674c6308',
    (11, 'v1'): '6d84920778c98dbf9ad7e8a14891549a975d7a08a4bca5663e1e26303336aa58',
    (11, 'paper'): '8dd3fad3f2cb2fc4116d86ccd8aa57cc7bb8215ef4ff9c0fbf320a07c87931d7',
    (11, 'small'): '021d9a0a08d7e854c9d76f116405b4119a6021353c0c854dba53a5cb33088490',
    (11, 'w11m1'): '3710cce308847d99815b00a7767f0867866313545041d1d5631f454a5d1b0e82',
}


@pytest.mark.parametrize(("seed", "name"), sorted(SYNTHETIC_DIGESTS))
def test_labels_equal_main_on_synthetic_series(seed: int, name: str) -> None:
    rr, breaks = _synthetic(seed)
    assert _settled_digest(rr, breaks, SETTINGS[name]) == SYNTHETIC_DIGESTS[seed, name]


def _shared_series(shared_data: Path, rel: str) -> np.ndarray:
    path = shared_data / rel
    if not path.is_file():
        pytest.skip(f"{path} absent (public reference recordings in ../shared/data)")
    if rel.endswith("_secs.txt"):
        return np.loadtxt(path) * 1000.0
    if rel.endswith(".csv"):
        from sessions.importers.csv_column import read_csv_column

        return read_csv_column(path, "rr", units="ms").rr_ms
    return np.loadtxt(path)


# (file under ../shared/data, settings) -> digest, computed with main 4e685ba's detector
SHARED_DIGESTS: dict[tuple[str, str], str] = {
    ('holter/rr_healthy_subjects_000_ms.txt', 'v2'): '8e93e194432623e5251b1d2d5326a0e9bbaca40d60fbb715f00ba38f11c4bbd9',
    ('holter/rr_healthy_subjects_000_ms.txt', 'v1'): 'eb8e02734376938dc2e57cc1917ebd01736b0a566d3bf9b9c08d33fbd2b6f60f',
    ('holter/chf2db_chf201_rr_secs.txt', 'v2'): 'e3d4a38fac282e5403bb05680aba76a1c57e128c3851a2865113c19f810610b4',
    ('holter/chf2db_chf201_rr_secs.txt', 'v1'): 'ad59c9fc787d772b6d7481e7270451d9c77ad5e2c722ca379f911ebc33c95fc7',
    ('one-hour/pyhrv_series_1_rr_ms.txt', 'v2'): '44e731b34bce25e786bb7397bf46589c892f204d799735b146d0aefaa48173f5',
    ('one-hour/pyhrv_series_1_rr_ms.txt', 'v1'): 'c324c7cc3e07cc07d38363704088f2df09c38fe31c4b41d22b04d548d4de7ea8',
    ('one-hour/pyhrv_series_1_rr_ms.txt', 'paper'): 'f0b4cb2cc8eb2d55b62e29a818b6da8ef9d2c20d54fb9c41c6604b16f5f6a429',
    ('one-hour/pyhrv_series_4_rr_ms.txt', 'v2'): '1533fd81a10a2111ec9788825ef3566db917d6cadc3443a839b60232cfbf6f93',
    ('one-hour/pyhrv_series_4_rr_ms.txt', 'v1'): 'd3c90651ec4988e3c91004e785a93ae5a684996c986e92a1e8abad3e494b1e4a',
    ('one-hour/pyhrv_series_4_rr_ms.txt', 'paper'): 'ed21cc28d0f18faf1f6d089d54564d46bea8c56e6a31dd6048fdcac5549c94ae',
    ('real-strap/polar_h10_pvc_rr.csv', 'v2'): '08be05db66ae9ceec3bbe4473d7a88288179723b7f91543554fbade6c7ea50b2',
    ('real-strap/polar_h10_pvc_rr.csv', 'v1'): '8ef50e98fcdd50932d0bd82baf00cc0f98afd37d722429de774f5d8bd5341e88',
    ('real-strap/polar_h10_pvc_rr.csv', 'paper'): '7fd33549c9eb646b123e3884047765c053c430c3830ba3b7b201ec6700f94197',
}


@pytest.mark.shared_data
@pytest.mark.parametrize(("rel", "name"), sorted(SHARED_DIGESTS))
def test_labels_equal_main_on_shared_recordings(shared_data: Path, rel: str, name: str) -> None:
    rr = _shared_series(shared_data, rel)
    assert _settled_digest(rr, None, SETTINGS[name]) == SHARED_DIGESTS[rel, name]


def _continue(det: CausalArtifactDetector, rr: list[float]) -> list[tuple[int, str, bool]]:
    out = [s for x in rr for s in det.push(x)] + det.end_run()
    return [(s.index, s.label, s.valid) for s in out]


@pytest.mark.parametrize("name", ["v2", "v1", "small"])
def test_snapshot_restore_anywhere_mid_stream_continues_identically(name: str) -> None:
    # snapshots at every stage of a run (before any beat settles, inside the first window, after a
    # gap, with a rewritten beat pending), through JSON as the engine stores them
    rr, breaks = _synthetic(11, 400)
    st = SETTINGS[name]
    rr_l = rr.tolist()
    for cut in [0, 1, 2, 3, 4, 50, 95, 150, 201, 202, 203, 333, 399]:
        a = CausalArtifactDetector(st)
        for i, x in enumerate(rr_l[:cut]):
            if breaks[i]:
                a.end_run()
            a.push(x)
        state = json.loads(json.dumps(a.snapshot()))
        assert state == a.snapshot()
        b = CausalArtifactDetector.restore(state)
        assert b.pending == a.pending
        assert _continue(b, rr_l[cut:]) == _continue(a, rr_l[cut:])


def test_snapshot_of_main_restores_and_continues() -> None:
    # a snapshot written by main 4e685ba's detector (the format of stored engine snapshots)
    fx = json.loads((FIXTURES / "causal_detector_snapshot_4e685ba.json").read_text())
    b = CausalArtifactDetector.restore(fx["snapshot"])
    assert _continue(b, fx["rr_after"]) == [tuple(x) for x in fx["settled_after"]]
    # and the snapshot format is unchanged: the same detector state gives the same dict
    a = CausalArtifactDetector(ArtifactSettings.from_dict(fx["snapshot"]["settings"]))
    for x in fx["rr_before"]:
        a.push(x)
    assert json.loads(json.dumps(a.snapshot())) == fx["snapshot"]


def test_restore_refuses_an_impossible_state() -> None:
    # a stored snapshot edited by hand (or damaged) is refused with the field named, never run
    rr, _ = _synthetic(3, 200)
    det = CausalArtifactDetector()
    for x in rr.tolist():
        det.push(x)
    good = det.snapshot()
    for field, value, named in [("settled_in_run", good["run_len"] - 5, "run_len"), ("prev_code", 9, "prev_code"),
                                ("absd", good["absd"] + [1.0], "absd"), ("rr", good["rr"][:2], "rr"),
                                ("absm", good["absm"][:-1], "absm")]:
        with pytest.raises(ValueError, match=named):
            CausalArtifactDetector.restore({**good, field: value})


@pytest.mark.parametrize("name", ["v2", "v1", "paper", "small"])
def test_compiled_thresholds_are_the_python_helpers_bit_for_bit(name: str) -> None:
    # every float of the decision: medRR, Th1 and Th2 of each settled beat from the compiled step
    # equal those of classification's scalar helpers on the same windows (labels alone could hide
    # a last-bit difference that a later recording would expose)
    from biofeedback.hrv.artifacts._kernels import causal_thresholds
    from biofeedback.hrv.artifacts.classification import _bound_threshold, _qd, _quantile_sorted

    st = SETTINGS[name]
    rr, breaks = _synthetic(5, 1500)
    det = CausalArtifactDetector(st)
    checked = 0
    for i, x in enumerate(rr.tolist()):
        if breaks[i]:
            det.end_run()
        if not det.push(x):
            continue
        snap = det.snapshot()
        med = _quantile_sorted(sorted(snap["rrwin"]), 0.5)
        expected = (med, _bound_threshold(st.alpha * _qd(sorted(snap["absd"])), med, st),
                    _bound_threshold(st.alpha * _qd(sorted(snap["absm"])), med, st))
        got = causal_thresholds(det._fs, det._st)
        assert [v.hex() for v in got] == [v.hex() for v in expected], i
        checked += 1
    assert checked > 1400
