#!/usr/bin/env python3
"""Make the festival test fixture: a few short utterances of festival's kal_diphone voice
(recorded diphones, 16 kHz) as FLAC, each with its Segment relation dumped from
``utt.synth`` (one line per phone: name, end time [s], then segment features).

Needs Debian ``festival``, ``festvox-kallpc16k`` and ``sox``.

    python tests/data/make_festival_fixture.py [--out tests/data/festival]
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

SENTENCES = [
    "The boat drifted slowly past the harbour wall.",
    "Please call me back before noon tomorrow.",
    "She kept the old map in a wooden box.",
    "Seven green lamps lit the narrow street.",
]
# festival segment features written per phone after name and end time
SEGMENT_FEATURES = ["ph_vc", "R:SylStructure.parent.stress", "pos_in_syl", "R:SylStructure.parent.syl_numphones",
                    "R:SylStructure.parent.pos_in_word", "R:SylStructure.parent.parent.word_numsyls",
                    "R:SylStructure.parent.parent.R:Word.pos_in_phrase"]


def scheme(text: str, wav: Path, seg: Path, voice: str) -> str:
    feats = " ".join(f'(item.feat s "{f}")' for f in SEGMENT_FEATURES)
    fmt = "%s %f" + " %s" * len(SEGMENT_FEATURES) + "\\n"
    quoted = text.replace('"', '\\"')
    return f"""({voice})
(set! u (utt.synth (Utterance Text "{quoted}")))
(utt.save.wave u "{wav}" 'riff)
(set! fd (fopen "{seg}" "w"))
(mapcar (lambda (s) (format fd "{fmt}" (item.name s) (item.feat s "end") {feats})) (utt.relation.items u 'Segment))
(fclose fd)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).parent / "festival"))
    ap.add_argument("--voice", default="voice_kal_diphone")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(SENTENCES, 1):
            name = f"kal_{i:03d}"
            wav, seg = Path(tmp) / f"{name}.wav", out / f"{name}.seg"
            script = Path(tmp) / "synth.scm"
            script.write_text(scheme(text, wav, seg, a.voice))
            subprocess.run(["festival", "--batch", str(script)], check=True, capture_output=True)
            subprocess.run(["sox", str(wav), "-b", "16", str(out / f"{name}.flac")], check=True)
            (out / f"{name}.txt").write_text(text + "\n")
            print(name, text)


if __name__ == "__main__":
    main()
