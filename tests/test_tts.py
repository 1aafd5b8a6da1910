"""The offline TTS pipeline postfilters are trained on: festival segments, frame labels,
the acoustic model with out-of-fold predictions, and the synthetic/natural pairs."""
from pathlib import Path

import numpy as np
import pytest

from vcgan.errors import VcganError
from vcgan.features.audio import load_audio
from vcgan.features.f0 import interpolate_log_f0
from vcgan.features.world import FeatureConfig, analyze
from vcgan.tts.acoustic import AcousticConfig, fold_indices, out_of_fold, train_acoustic
from vcgan.tts.festival import read_segments, read_text_list
from vcgan.tts.labels import LABEL_DIM, N_PHONE, PHONES, frame_labels

FESTIVAL = Path(__file__).parent / "data" / "festival"


def test_segment_dump_parses_with_festival_timing():
    segs = read_segments(FESTIVAL / "kal_001.seg")
    assert segs[0].phone == "pau" and segs[0].silence and segs[0].end == pytest.approx(0.22)
    assert segs[-1].phone == "pau"
    assert all(b.end > a.end for a, b in zip(segs, segs[1:]))
    vowels = [s for s in segs if s.vowel]
    assert vowels and all(s.phone in PHONES for s in segs)
    assert any(s.stress == 1 for s in vowels)
    # festival's waveform ends where its last segment ends (to within a few frames)
    x = load_audio(FESTIVAL / "kal_001.flac", 16000)
    assert abs(len(x) / 16000 - segs[-1].end) < 0.05


def test_bad_segment_and_text_files_name_the_line(tmp_path):
    bad = tmp_path / "x.seg"
    bad.write_text("pau 0.2 - 0 0 0 0 0 0\nah oops + 1 0 1 0 1 0\n")
    with pytest.raises(VcganError, match=r"x\.seg:2"):
        read_segments(bad)
    text = tmp_path / "t.txt"
    text.write_text("a|One sentence.\na|Again.\n")
    with pytest.raises(VcganError, match=r"t\.txt:2.*twice"):
        read_text_list(text)


def test_frame_labels_line_up_with_world_frames():
    cfg = FeatureConfig()
    x = load_audio(FESTIVAL / "kal_002.flac", 16000)
    world = analyze(x, cfg)
    segs = read_segments(FESTIVAL / "kal_002.seg")
    lab = frame_labels(segs, world.num_frames, cfg.frame_period)
    assert lab.shape == (world.num_frames, LABEL_DIM)
    # exactly one current, previous and next phone per frame
    for k in range(3):
        np.testing.assert_array_equal(lab[:, k * N_PHONE:(k + 1) * N_PHONE].sum(1), 1)
    # the frame at each segment's midpoint carries that segment's phone
    starts = [0.0] + [s.end for s in segs[:-1]]
    for start, s in zip(starts, segs):
        t = int(round((start + s.end) / 2 * 1000 / cfg.frame_period))
        if t < world.num_frames:
            assert lab[t, N_PHONE + PHONES.index(s.phone)] == 1
    # position in phone runs 0 -> 1 inside a segment
    first = lab[: int(segs[0].end * 200), 3 * N_PHONE]
    assert first[0] == 0 and np.all(np.diff(first) > 0)


def test_interpolated_log_f0():
    f0 = np.array([0, 100, 0, 0, 400, 0.0])
    lf = interpolate_log_f0(f0)
    np.testing.assert_allclose(lf[[0, 1, 4, 5]], np.log([100, 100, 400, 400]))
    np.testing.assert_allclose(lf[2:4], np.log(100) + np.array([1, 2]) / 3 * np.log(4))
    assert not interpolate_log_f0(np.zeros(4)).any()


def test_folds_partition_and_out_of_fold_predictions_are_worse_than_in_sample():
    parts = fold_indices(10, 3, seed=0)
    assert sorted(i for p in parts for i in p) == list(range(10)) and len(parts) == 3
    rng = np.random.default_rng(0)
    # a mapping the model can only memorise: targets are random per utterance
    inputs = [rng.standard_normal((120, 6)).astype(np.float32) for _ in range(4)]
    targets = [rng.standard_normal((120, 3)).astype(np.float32) for _ in range(4)]
    cfg = AcousticConfig(channels=32, layers=2, steps=300, crop_frames=64, dropout=0.0)
    model = train_acoustic(inputs, targets, cfg)
    in_sample = np.mean([np.mean((model.predict(x) - y) ** 2) for x, y in zip(inputs, targets)])
    oof = out_of_fold(inputs, targets, 2, cfg)
    held_out = np.mean([np.mean((p - y) ** 2) for p, y in zip(oof, targets)])
    assert in_sample < 0.8 * held_out


def test_tts_pairs_on_festival_speech(festival_pairs, tmp_path):
    import json

    from conftest import festival_split

    from vcgan.cli import main

    out = festival_pairs  # tts-pairs --folds 2 --dev 1 --steps 40 on kal_001-003 (train), kal_004 (test)
    festival_split(tmp_path)
    report = json.loads((out / "pairs.json").read_text())
    assert report["splits"]["test"]["gv_synthetic"] < report["splits"]["test"]["gv_natural"]
    assert [report["splits"][s]["utterances"] for s in ("train", "dev", "test")] == [2, 1, 1]
    for side in ("natural", "synthetic"):  # the last training sentence is the development split
        assert sorted(p.stem for p in (out / side / "train").iterdir()) == ["kal_001", "kal_002"]
        assert [p.stem for p in (out / side / "dev").iterdir()] == ["kal_003"]
    # a development split that leaves fewer training sentences than folds is refused
    assert main(["tts-pairs", "--train", str(tmp_path / "train"), "--test", str(tmp_path / "test"),
                 "--out", str(tmp_path / "p3"), "--folds", "3", "--dev", "1", "--steps", "5", "--jobs", "1"]) == 2
    assert not (tmp_path / "p3").exists()
    nat, syn = (load_audio(out / side / "test" / "kal_004.wav", 16000) for side in ("natural", "synthetic"))
    assert abs(len(nat) - len(syn)) < 200  # same timing: only the spectral envelope differs
    # a missing segment file is named
    (tmp_path / "test" / "kal_004.seg").unlink()
    assert main(["tts-pairs", "--train", str(tmp_path / "train"), "--test", str(tmp_path / "test"),
                 "--out", str(tmp_path / "p2"), "--folds", "3", "--steps", "5", "--jobs", "1"]) == 2


def test_festival_corpus_speaks_a_text_list_with_segments(tmp_path):
    from conftest import need_programs

    from vcgan.cli import main

    need_programs("festival", packages="festival festvox-kallpc16k")

    text = tmp_path / "t.txt"
    text.write_text("a_001|Good morning.\na_002|The red bus is late again.\n")
    out = tmp_path / "out"
    assert main(["festival-corpus", "--text", str(text), "--out", str(out)]) == 0
    for uid in ("a_001", "a_002"):
        segs = read_segments(out / f"{uid}.seg")
        x = load_audio(out / f"{uid}.wav", 16000)
        assert abs(len(x) / 16000 - segs[-1].end) < 0.05
    assert main(["festival-corpus", "--text", str(text), "--out", str(out), "--voice", "no_such_voice"]) == 2
