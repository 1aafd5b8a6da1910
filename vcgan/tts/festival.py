"""Festival as the text front end and the source of natural speech.

``synthesize_with_segments`` speaks a sentence with a festival voice and dumps the
utterance's Segment relation as festival built it in ``utt.synth``: one line per phone
with its name, end time and the features in :data:`SEGMENT_FEATURES`. The times are
exact for festival's own waveform, so no forced alignment is involved.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import VcganError

# written per phone after its name and end time (festival feature paths)
SEGMENT_FEATURES = (
    "ph_vc",  # vowel (+) or consonant (-)
    "R:SylStructure.parent.stress",  # lexical stress of the syllable
    "pos_in_syl",  # phone position in its syllable
    "R:SylStructure.parent.syl_numphones",
    "R:SylStructure.parent.pos_in_word",  # syllable position in its word
    "R:SylStructure.parent.parent.word_numsyls",
    "R:SylStructure.parent.parent.R:Word.pos_in_phrase",  # word position in its phrase
)
VOICE_PACKAGES = {"kal_diphone": "festvox-kallpc16k", "ked_diphone": "festvox-kdlpc16k"}


@dataclass(frozen=True)
class Segment:
    phone: str
    end: float  # seconds
    vowel: bool
    stress: int
    pos_in_syl: int
    syl_phones: int
    syl_pos_in_word: int
    word_syls: int
    word_pos_in_phrase: int

    @property
    def silence(self) -> bool:
        return self.phone in ("pau", "h#", "sil")


def _scheme(text: str, voice: str, wav: Path, seg: Path) -> str:
    feats = " ".join(f'(item.feat s "{f}")' for f in SEGMENT_FEATURES)
    fmt = "%s %f" + " %s" * len(SEGMENT_FEATURES) + "\\n"
    quoted = text.replace("\\", " ").replace('"', "'")
    return f"""(voice_{voice})
(set! u (utt.synth (Utterance Text "{quoted}")))
(utt.save.wave u "{wav}" 'riff)
(set! fd (fopen "{seg}" "w"))
(mapcar (lambda (s) (format fd "{fmt}" (item.name s) (item.feat s "end") {feats})) (utt.relation.items u 'Segment))
(fclose fd)
"""


def check_festival(voice: str) -> None:
    if shutil.which("festival") is None:
        raise VcganError("festival is not installed (Debian: apt-get install festival "
                         f"{VOICE_PACKAGES.get(voice, '')})".rstrip() + ")")
    out = subprocess.run(["festival", "--batch", f"(voice_{voice})"], capture_output=True, text=True)
    if out.returncode != 0 or "not defined" in (out.stderr + out.stdout):
        pkg = VOICE_PACKAGES.get(voice)
        raise VcganError(f"festival voice {voice!r} is not available" + (f" (Debian package {pkg})" if pkg else ""))


def synthesize_with_segments(text: str, voice: str, wav_path, seg_path) -> None:
    """Speak ``text`` with festival's ``voice`` to ``wav_path`` and dump its segments to ``seg_path``."""
    wav_path, seg_path = Path(wav_path), Path(seg_path)
    with tempfile.TemporaryDirectory(prefix="vcgan_festival_") as tmp:
        wav, seg, script = Path(tmp) / "out.wav", Path(tmp) / "out.seg", Path(tmp) / "synth.scm"
        script.write_text(_scheme(text, voice, wav, seg), encoding="utf-8")
        out = subprocess.run(["festival", "--batch", str(script)], capture_output=True, text=True)
        if out.returncode != 0 or not wav.is_file() or not seg.is_file():
            raise VcganError(f"festival failed on {text!r} with voice {voice}: {out.stderr.strip()[-300:]}")
        for src, dst in ((wav, wav_path), (seg, seg_path)):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), str(dst))


def read_segments(path) -> list[Segment]:
    """Parse a segment dump; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise VcganError(f"{path}: no such segment file")
    segs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        f = line.split()
        if len(f) != 2 + len(SEGMENT_FEATURES):
            raise VcganError(f"{path}:{n}: expected {2 + len(SEGMENT_FEATURES)} fields, got {len(f)}")
        try:
            segs.append(Segment(f[0], float(f[1]), f[2] == "+", *(int(float(v)) for v in f[3:])))
        except ValueError:
            raise VcganError(f"{path}:{n}: unreadable segment line {line!r}") from None
    if not segs:
        raise VcganError(f"{path}: no segments")
    if any(b.end < a.end for a, b in zip(segs, segs[1:])):
        raise VcganError(f"{path}: segment end times go backwards")
    return segs


def read_text_list(path) -> list[tuple[str, str]]:
    """``id|sentence`` lines; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise VcganError(f"{path}: no such text list")
    out, seen = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if "|" not in line:
            raise VcganError(f"{path}:{n}: expected 'id|sentence', got {line!r}")
        uid, text = (s.strip() for s in line.split("|", 1))
        if not uid or not text or "/" in uid:
            raise VcganError(f"{path}:{n}: empty or unusable id/sentence in {line!r}")
        if uid in seen:
            raise VcganError(f"{path}:{n}: id {uid!r} occurs twice")
        seen.add(uid)
        out.append((uid, text))
    if not out:
        raise VcganError(f"{path}: no sentences")
    return out


def speak_list(text_list, voice: str, out_dir, jobs: int = 2, progress: bool = True) -> int:
    """Speak every sentence of a text list into ``out_dir/<id>.wav`` + ``<id>.seg``; existing pairs are kept."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    check_festival(voice)
    out_dir = Path(out_dir)
    todo = [(uid, text) for uid, text in read_text_list(text_list)
            if not ((out_dir / f"{uid}.wav").is_file() and (out_dir / f"{uid}.seg").is_file())]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        jobs_ = [pool.submit(synthesize_with_segments, text, voice, out_dir / f"{uid}.wav", out_dir / f"{uid}.seg")
                 for uid, text in todo]
        for j in tqdm(jobs_, desc=f"festival {voice}", disable=not progress):
            j.result()
    return len(todo)
