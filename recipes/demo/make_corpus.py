#!/usr/bin/env python3
"""Build the small demo speech corpus with Festival text-to-speech.

The corpus has a handful of synthetic speakers, each with its own
*non-parallel* training sentences (no sentence is spoken by two speakers)
plus one *parallel* test set that every speaker reads, so that converted
test utterances can be compared with the target speaker's rendition of the
same sentence by file name.

Layout written under ``--out`` (default: ``corpus/`` next to this script)::

    <speaker>/train/<speaker>_train_NNN.flac
    <speaker>/test/test_NNN.flac
    <speaker>/train.txt          fileid|text, one line per utterance
    <speaker>/test.txt
    README.md

Audio is mono, 16 kHz, 16-bit FLAC, trimmed to about 0.1 s of silence at
either end and peak-normalized to -1 dBFS.

The sentences are generated here from a small template grammar and a fixed
random seed, so the text is the project's own and the corpus can be rebuilt
exactly.  Only the Python standard library is used; synthesis and audio
processing are done by the ``text2wave`` (Festival) and ``sox`` programs.

Example::

    python recipes/demo/make_corpus.py               # build / complete
    python recipes/demo/make_corpus.py --force       # rebuild everything
"""

from __future__ import annotations

import argparse
import array
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import wave
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

# Speaker name -> Festival voice.  The order is significant: it fixes which
# slice of the sentence pool each speaker gets, so building a subset of the
# speakers never changes the sentences of the others.
VOICES: dict[str, str] = {
    "kal": "voice_kal_diphone",             # US English male, diphone, 16 kHz
    "ked": "voice_ked_diphone",             # US English male, diphone, 16 kHz
    "slt": "voice_cmu_us_slt_arctic_hts",   # US English female, HTS, 32 kHz
}

SAMPLE_RATE = 16000
DEFAULT_SEED = 1234
MIN_WORDS, MAX_WORDS = 6, 14


# ---------------------------------------------------------------------------
# Sentence generator
# ---------------------------------------------------------------------------
# Nouns are grouped by kind so that verbs and adjectives only meet nouns they
# make sense with ("fed the hungry dog", never "fed the hungry umbrella").
# Noun spec: "word" (plural word+s / +es / y->ies), "word:plural" for an
# irregular plural, or "word:-" for a mass noun (no "a", no plural).

NOUNS = {
    "food": ["apple", "bread:-", "soup:-", "cake", "cheese:-", "pie",
             "sandwich", "orange", "salad", "rice:-", "pear", "melon",
             "tea:-", "coffee:-", "biscuit", "carrot", "potato:potatoes",
             "tomato:tomatoes", "lemon", "pancake"],
    "thing": ["umbrella", "lamp", "chair", "box", "bag", "key", "book",
              "map", "camera", "bottle", "basket", "blanket", "jacket",
              "hat", "ticket", "clock", "radio", "pencil", "cup", "bucket",
              "ladder", "mirror", "candle", "kettle", "hammer", "wallet",
              "suitcase", "knife:knives", "glove", "scarf:scarves"],
    "paper": ["letter", "report", "story:stories", "note", "message",
              "list", "poem", "newspaper", "postcard", "recipe", "diary:diaries",
              "invitation", "contract", "timetable", "novel"],
    "animal": ["dog", "cat", "horse", "bird", "rabbit", "goat", "puppy:puppies",
               "kitten", "duck", "pony:ponies", "sheep:sheep", "parrot"],
    "vehicle": ["car", "bike", "boat", "truck", "van", "tractor", "scooter",
                "canoe", "bicycle", "trailer"],
}

ADJECTIVES = {
    "food": ["fresh", "warm", "sweet", "cold", "hot", "spicy", "small",
             "large", "delicious", "salty", "ripe", "homemade"],
    "thing": ["old", "new", "heavy", "small", "red", "blue", "green",
              "broken", "wooden", "yellow", "little", "large", "brown",
              "dusty", "shiny", "plastic", "silver", "empty"],
    "paper": ["long", "short", "old", "new", "strange", "important",
              "funny", "sad", "secret", "careful", "handwritten", "boring"],
    "animal": ["old", "young", "small", "little", "brown", "black", "white",
               "friendly", "hungry", "lazy", "noisy", "clever", "gentle"],
    "vehicle": ["old", "new", "red", "blue", "small", "rusty", "shiny",
                "fast", "borrowed", "muddy", "yellow"],
}

# (base, past) forms of transitive verbs, by the kinds of noun they take.
VERBS = {
    "food": [("eat", "ate"), ("cook", "cooked"), ("buy", "bought"),
             ("bring", "brought"), ("share", "shared"), ("taste", "tasted"),
             ("order", "ordered"), ("pack", "packed"), ("make", "made"),
             ("finish", "finished"), ("warm up", "warmed up")],
    "thing": [("find", "found"), ("lose", "lost"), ("buy", "bought"),
              ("carry", "carried"), ("paint", "painted"), ("fix", "fixed"),
              ("move", "moved"), ("open", "opened"), ("borrow", "borrowed"),
              ("wrap", "wrapped"), ("clean", "cleaned"), ("drop", "dropped"),
              ("sell", "sold"), ("hide", "hid"), ("bring", "brought"),
              ("forget", "forgot"), ("pick up", "picked up")],
    "paper": [("read", "read"), ("write", "wrote"), ("send", "sent"),
              ("sign", "signed"), ("print", "printed"), ("finish", "finished"),
              ("copy", "copied"), ("check", "checked"), ("forget", "forgot"),
              ("receive", "received"), ("tear up", "tore up")],
    "animal": [("feed", "fed"), ("wash", "washed"), ("follow", "followed"),
               ("find", "found"), ("watch", "watched"), ("call", "called"),
               ("train", "trained"), ("walk", "walked"), ("chase", "chased"),
               ("brush", "brushed")],
    "vehicle": [("wash", "washed"), ("fix", "fixed"), ("paint", "painted"),
                ("sell", "sold"), ("borrow", "borrowed"), ("repair", "repaired"),
                ("park", "parked"), ("rent", "rented"), ("buy", "bought")],
}

# Things that happen to people rather than things they set out to do; kept
# out of requests and plans ("please lose the map").
UNINTENDED = {"lose", "forget", "drop", "receive", "find"}

# (base, past, -ing) forms of intransitive verbs.
INTRANSITIVE = [
    ("walk", "walked", "walking"), ("wait", "waited", "waiting"),
    ("sit", "sat", "sitting"), ("sleep", "slept", "sleeping"),
    ("sing", "sang", "singing"), ("dance", "danced", "dancing"),
    ("work", "worked", "working"), ("play", "played", "playing"),
    ("rest", "rested", "resting"), ("stay", "stayed", "staying"),
    ("laugh", "laughed", "laughing"), ("read", "read", "reading"),
    ("swim", "swam", "swimming"), ("study", "studied", "studying"),
    ("cook", "cooked", "cooking"), ("talk", "talked", "talking"),
    ("paint", "painted", "painting"), ("run", "ran", "running"),
]

# Subjects: (text, grammatical person/number), one of "1s", "3s", "pl".
SUBJECTS = [
    ("Anna", "3s"), ("Peter", "3s"), ("Maria", "3s"), ("David", "3s"),
    ("Lucy", "3s"), ("Thomas", "3s"), ("Emma", "3s"), ("Daniel", "3s"),
    ("Sarah", "3s"), ("James", "3s"), ("Olivia", "3s"), ("Henry", "3s"),
    ("Rachel", "3s"), ("Martin", "3s"), ("Helen", "3s"), ("Victor", "3s"),
    ("my sister", "3s"), ("my brother", "3s"), ("our neighbor", "3s"),
    ("the old farmer", "3s"), ("the young doctor", "3s"),
    ("the teacher", "3s"), ("the driver", "3s"), ("a tall man", "3s"),
    ("a little girl", "3s"), ("my friend", "3s"), ("her cousin", "3s"),
    ("the baker", "3s"), ("the nurse", "3s"), ("my uncle", "3s"),
    ("the mayor", "3s"), ("the postman", "3s"), ("our guest", "3s"),
    ("she", "3s"), ("he", "3s"), ("I", "1s"),
    ("our neighbors", "pl"), ("the children", "pl"), ("my parents", "pl"),
    ("the students", "pl"), ("the workers", "pl"), ("my grandparents", "pl"),
    ("the visitors", "pl"), ("the twins", "pl"), ("we", "pl"),
    ("they", "pl"),
]

PLACES = [
    "in the kitchen", "at the station", "near the river", "behind the house",
    "in the garden", "at the market", "in the park", "by the lake",
    "at school", "in the library", "at the office", "on the train",
    "in the village", "under the bridge", "on the hill", "at the beach",
    "in town", "at the farm", "on the bus", "in the hallway",
    "at the airport", "near the church", "in the yard", "at the harbor",
    "upstairs", "downstairs", "outside the bakery", "in the attic",
    "at the corner shop", "in the basement", "by the window",
    "next to the fountain", "at the hotel", "in the forest",
]

PAST_TIMES = [
    "yesterday", "last night", "this morning", "on Monday",
    "on Friday evening", "after lunch", "before dinner", "earlier today",
    "last week", "at noon", "in the afternoon", "on Sunday",
    "late at night", "two days ago", "last summer", "on Tuesday morning",
    "during the storm", "after the meeting", "an hour ago",
    "on Wednesday", "last winter", "at sunrise",
]

FUTURE_TIMES = [
    "tomorrow", "next week", "on Saturday", "later today", "tonight",
    "after dinner", "in the morning", "next summer", "on Thursday",
    "before the party", "next month", "soon", "this weekend",
    "after school", "on Friday",
]

WEATHER = ["cold", "warm", "sunny", "windy", "rainy", "quiet", "foggy",
           "hot", "snowy", "cloudy"]
# Times that go with any kind of weather ("sunny last night" does not).
WEATHER_TIMES = ["yesterday", "this morning", "on Monday", "on Sunday",
                 "last week", "on Wednesday", "in the afternoon",
                 "on Tuesday morning", "all day"]
STATES = ["hungry", "tired", "busy", "cold", "late", "bored", "sick",
          "happy", "away", "worried", "excited", "sleepy"]

SING_DETS = ["the", "a", "my", "our", "their", "your", "this", "that"]
PLURAL_DETS = ["the", "two", "three", "some", "those", "these", "our",
               "five", "several"]
MASS_DETS = ["the", "some", "my", "our", "their", "this", "that"]


def _plural(word: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def _parse_noun(spec: str) -> tuple[str, str | None]:
    """Return (singular, plural); plural is None for a mass noun."""
    word, _, plural = spec.partition(":")
    if plural == "-":
        return word, None
    return word, plural or _plural(word)


def _be(person: str, past: bool) -> str:
    if past:
        return "were" if person == "pl" else "was"
    return {"1s": "am", "3s": "is", "pl": "are"}[person]


class SentenceMaker:
    """Random sentences from a template grammar, reproducible from a seed."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.templates = [
            self._past_object_place_time,
            self._time_first,
            self._future,
            self._did_question,
            self._wh_question,
            self._intransitive,
            self._progressive,
            self._please,
            self._said_that,
            self._and_then,
            self._there_was,
            self._could_not,
            self._weather_so,
            self._because,
            self._i_think,
        ]

    # -- building blocks ----------------------------------------------------
    def _pick(self, items):
        return self.rng.choice(items)

    def _subject(self):
        return self._pick(SUBJECTS)

    def _object(self, kind: str | None = None):
        """A noun phrase of the given kind, e.g. 'two shiny keys'."""
        kind = kind or self._pick(list(NOUNS))
        singular, plural = _parse_noun(self._pick(NOUNS[kind]))
        adj = self._pick(ADJECTIVES[kind]) if self.rng.random() < 0.6 else None
        if plural is None:
            det, noun = self._pick(MASS_DETS), singular
            if det == "some" and adj is None:
                adj = self._pick(ADJECTIVES[kind])
        elif self.rng.random() < 0.25:
            det, noun = self._pick(PLURAL_DETS), plural
        else:
            det, noun = self._pick(SING_DETS), singular
        words = [w for w in (det, adj, noun) if w]
        if det == "a" and words[1][0] in "aeiou":
            words[0] = "an"
        return " ".join(words)

    def _transitive(self, intended: bool = False):
        """(verb base, verb past, object) with matching kinds; `intended`
        restricts the verb to deliberate actions."""
        kind = self._pick(list(NOUNS))
        verbs = [v for v in VERBS[kind] if not (intended and v[0] in UNINTENDED)]
        base, past = self._pick(verbs)
        return base, past, self._object(kind)

    # -- templates ------------------------------------------------------------
    def _past_object_place_time(self):
        s, _ = self._subject()
        _, past, obj = self._transitive()
        return f"{s} {past} {obj} {self._pick(PLACES)} {self._pick(PAST_TIMES)}."

    def _time_first(self):
        s, _ = self._subject()
        _, past, obj = self._transitive()
        return f"{self._pick(PAST_TIMES)}, {s} {past} {obj} {self._pick(PLACES)}."

    def _future(self):
        s, _ = self._subject()
        base, _, obj = self._transitive(intended=True)
        modal = self._pick(["will", "might", "should", "can", "would like to"])
        return f"{s} {modal} {base} {obj} {self._pick(FUTURE_TIMES)}."

    def _did_question(self):
        s, _ = self._subject()
        base, _, obj = self._transitive()
        tail = self._pick(PLACES) if self.rng.random() < 0.5 else self._pick(PAST_TIMES)
        return f"did {s} {base} {obj} {tail}?"

    def _wh_question(self):
        s, _ = self._subject()
        base, _, obj = self._transitive()
        form = self.rng.randrange(3)
        if form == 0:
            return f"why did {s} {base} {obj} {self._pick(PLACES)}?"
        if form == 1:
            return f"where did {s} {base} {obj} {self._pick(PAST_TIMES)}?"
        return f"when will {s} {base} {obj}?"

    def _intransitive(self):
        s, _ = self._subject()
        _, past, _ = self._pick(INTRANSITIVE)
        return f"{s} {past} {self._pick(PLACES)} {self._pick(PAST_TIMES)}."

    def _progressive(self):
        s, person = self._subject()
        _, _, ing = self._pick(INTRANSITIVE)
        past = self.rng.random() < 0.5
        when = self._pick(PAST_TIMES) if past else "right now"
        return f"{s} {_be(person, past)} {ing} {self._pick(PLACES)} {when}."

    def _please(self):
        base, _, obj = self._transitive(intended=True)
        return f"please {base} {obj} {self._pick(FUTURE_TIMES)}."

    def _said_that(self):
        s, _ = self._subject()
        s2, _ = self._subject()
        _, past, obj = self._transitive()
        verb = self._pick(["said", "told me", "wrote", "explained"])
        return f"{s} {verb} that {s2} {past} {obj}."

    def _and_then(self):
        s, _ = self._subject()
        _, past1, obj1 = self._transitive()
        _, past2, obj2 = self._transitive()
        return f"{s} {past1} {obj1} and then {past2} {obj2}."

    def _there_was(self):
        kind = self._pick(["animal", "thing", "vehicle"])
        singular, _ = _parse_noun(self._pick(NOUNS[kind]))
        adj = self._pick(ADJECTIVES[kind])
        art = "an" if adj[0] in "aeiou" else "a"
        return f"there was {art} {adj} {singular} {self._pick(PLACES)} {self._pick(PAST_TIMES)}."

    def _could_not(self):
        s, _ = self._subject()
        verb = self._pick(["find", "carry", "see", "move", "reach"])
        return f"{s} could not {verb} {self._object('thing')} {self._pick(PLACES)}."

    def _weather_so(self):
        s, _ = self._subject()
        _, past, _ = self._pick(INTRANSITIVE)
        return (f"it was {self._pick(WEATHER)} {self._pick(WEATHER_TIMES)}, "
                f"so {s} {past} {self._pick(PLACES)}.")

    def _because(self):
        s, _ = self._subject()
        s2, person2 = self._subject()
        _, past, obj = self._transitive()
        return f"{s} {past} {obj} because {s2} {_be(person2, True)} {self._pick(STATES)}."

    def _i_think(self):
        lead = self._pick(["I think", "I believe", "I heard that", "perhaps"])
        s, _ = self._subject()
        _, past, obj = self._transitive()
        return f"{lead} {s} {past} {obj} {self._pick(PAST_TIMES)}."

    # -- public ---------------------------------------------------------------
    def sentence(self) -> str:
        text = self._pick(self.templates)()
        return text[0].upper() + text[1:]

    def unique_sentences(self, count: int) -> list[str]:
        """`count` distinct sentences of MIN_WORDS..MAX_WORDS words."""
        seen: set[str] = set()
        out: list[str] = []
        while len(out) < count:
            text = self.sentence()
            n_words = len(text.split())
            if MIN_WORDS <= n_words <= MAX_WORDS and text.lower() not in seen:
                seen.add(text.lower())
                out.append(text)
        return out


# ---------------------------------------------------------------------------
# Corpus plan
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Utterance:
    speaker: str
    subset: str       # "train" or "test"
    fileid: str       # file name without extension
    text: str

    def path(self, out: Path) -> Path:
        return out / self.speaker / self.subset / f"{self.fileid}.flac"


def plan_corpus(speakers: list[str], n_train: int, n_test: int,
                seed: int) -> list[Utterance]:
    """Assign sentences: a shared test block first, then the remaining pool is
    dealt out round-robin by the speaker's position in VOICES, so every
    training sentence belongs to exactly one speaker and changing --n-train
    only adds or drops sentences at the end of each list."""
    n_voices = len(VOICES)
    pool = SentenceMaker(seed).unique_sentences(n_test + n_train * n_voices)
    test, rest = pool[:n_test], pool[n_test:]
    plan = []
    for spk in speakers:
        k = list(VOICES).index(spk)
        for i, text in enumerate(rest[k::n_voices], 1):
            plan.append(Utterance(spk, "train", f"{spk}_train_{i:03d}", text))
        for i, text in enumerate(test, 1):
            plan.append(Utterance(spk, "test", f"test_{i:03d}", text))
    return plan


def read_transcript(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "|" in line:
            fileid, text = line.split("|", 1)
            entries[fileid] = text
    return entries


# ---------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------

def wav_stats(path: Path) -> tuple[float, int]:
    """(duration in seconds, peak absolute sample value) of a 16-bit WAV."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise RuntimeError(f"{path}: expected 16-bit audio")
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    peak = max((abs(s) for s in samples), default=0)
    return len(samples) / w.getnchannels() / rate, peak


def flac_duration(path: Path) -> float:
    """Duration read from the FLAC STREAMINFO block (no decoding needed)."""
    with open(path, "rb") as f:
        head = f.read(4 + 4 + 34)
    if head[:4] != b"fLaC":
        raise RuntimeError(f"{path}: not a FLAC file")
    info = head[8:]
    # 20 bits sample rate | 3 bits channels-1 | 5 bits bps-1 | 36 bits samples
    packed = struct.unpack(">Q", info[10:18])[0]
    rate = packed >> 44
    total = packed & ((1 << 36) - 1)
    return total / rate


def synthesize(voice: str, text: str, dest: Path) -> float:
    """Speak `text` with a Festival voice and write the processed FLAC to
    `dest` atomically.  Returns the final duration in seconds."""
    with tempfile.TemporaryDirectory(prefix="vcgan_tts_") as tmp:
        txt, raw = Path(tmp) / "in.txt", Path(tmp) / "raw.wav"
        txt.write_text(text + "\n", encoding="utf-8")
        # text2wave exits 0 even when the voice cannot be loaded, so the
        # output is checked rather than the return code alone.
        proc = subprocess.run(
            ["text2wave", "-eval", f"({voice})", "-o", str(raw), str(txt)],
            capture_output=True, text=True)
        if proc.returncode != 0 or not raw.exists():
            raise RuntimeError(f"text2wave failed for {voice}: {proc.stderr.strip()}")
        finish_audio(raw, dest, f"{voice} produced silent/empty audio for: {text!r}\n{proc.stderr.strip()}")
    return flac_duration(dest)


def finish_audio(raw: Path, dest: Path, silent_message: str) -> None:
    """Check a synthesised WAV and write it to `dest` as the corpus's FLAC, atomically:
    16 kHz mono 16-bit, silence trimmed to 0.1 s at both ends, peak at -1 dBFS."""
    seconds, peak = wav_stats(raw)
    if seconds < 0.3 or peak < 100:
        raise RuntimeError(silent_message)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    # -R: repeatable output; -D: no dither, so the padded silence stays
    # digital zero and the files compress well.  The silence/reverse pair
    # strips the leading and trailing silence (anything below -50 dBFS),
    # then pad puts back a short 0.1 s margin at both ends.
    subprocess.run(
        ["sox", "-R", "-D", str(raw),
         "-t", "flac", "-C", "8", "-b", "16", "-c", "1", str(part),
         "rate", "-v", str(SAMPLE_RATE),
         "silence", "1", "0.01", "-50d",
         "reverse", "silence", "1", "0.01", "-50d", "reverse",
         "pad", "0.1", "0.1",
         "gain", "-n", "-1"],
        check=True, capture_output=True)
    os.replace(part, dest)


def check_voices(speakers: list[str]) -> None:
    """Fail early, with a clear message, if a Festival voice is missing."""
    for spk in speakers:
        with tempfile.TemporaryDirectory(prefix="vcgan_voice_") as tmp:
            try:
                synthesize(VOICES[spk], "This is a test.", Path(tmp) / "t.flac")
            except (RuntimeError, subprocess.CalledProcessError) as err:
                sys.exit(f"error: voice for speaker '{spk}' ({VOICES[spk]}) "
                         f"does not work: {err}")
        print(f"voice ok: {spk} ({VOICES[spk]})", flush=True)


# ---------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------

def write_readme(out: Path, seed: int) -> None:
    """Describe whatever speakers are present under `out`."""
    rows, total_files, total_sec = [], 0, 0.0
    test_counts = set()
    for spk, voice in VOICES.items():
        if not (out / spk).is_dir():
            continue
        counts, secs = {}, {}
        for subset in ("train", "test"):
            files = sorted((out / spk / subset).glob("*.flac"))
            counts[subset] = len(files)
            secs[subset] = sum(flac_duration(f) for f in files)
        test_counts.add(counts["test"])
        total_files += counts["train"] + counts["test"]
        total_sec += secs["train"] + secs["test"]
        rows.append(f"| `{spk}` | `{voice}` | {counts['train']} "
                    f"({secs['train']:.1f} s) | {counts['test']} "
                    f"({secs['test']:.1f} s) |")

    n_test = test_counts.pop() if len(test_counts) == 1 else "same"
    readme = f"""# vcgan demo corpus

A tiny English speech corpus for trying out voice conversion end to end.
Every utterance was synthesized with the Festival speech synthesis system
by `recipes/demo/make_corpus.py` (seed {seed}); the sentences themselves
were generated by that script from a small template grammar, so the text
is original to this project.

## Speakers

| speaker | Festival voice | train utterances | test utterances |
|---------|----------------|------------------|-----------------|
{chr(10).join(rows)}

Total: {total_files} files, {total_sec / 60:.1f} minutes of audio.

* `kal` and `ked` are US English male diphone voices; `slt` is a US English
  female HTS voice (rendered at 32 kHz and resampled).
* **Training data is non-parallel**: each speaker has its own training
  sentences and no training sentence occurs twice in the corpus.
* **The test set is parallel**: the same {n_test} sentences are spoken by
  every speaker under identical file names (`test/test_NNN.flac`), so a
  converted file can be paired with the target speaker's file of the same
  name.

## Layout

```
<speaker>/train/<speaker>_train_NNN.flac
<speaker>/test/test_NNN.flac
<speaker>/train.txt    fileid|text
<speaker>/test.txt     fileid|text
```

Audio: mono, 16 kHz, 16-bit FLAC; leading and trailing silence trimmed to
about 0.1 s; peak-normalized to -1 dBFS.

## Rebuilding

Install Festival, the voices and SoX (Debian/Ubuntu package names:
`festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox`), then

```
python recipes/demo/make_corpus.py --force
```

Exact byte-for-byte reproduction is likely but not guaranteed across
Festival or SoX versions.

## License

The recordings were produced by the Festival voices `kal_diphone`
(Copyright 1998 Alan W Black and Kevin Lenzo), `ked_diphone` (Copyright 1997
Centre for Speech Technology Research, University of Edinburgh) and
`cmu_us_slt_arctic_hts` (Copyright Carnegie Mellon University and the
Nagoya Institute of Technology), which are distributed under free,
permissive licenses that allow use, modification and redistribution.
The sentences and transcripts were generated by `make_corpus.py` and are
covered by the license of this project.
"""
    (out / "README.md").write_text(readme, encoding="utf-8")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "corpus",
                        help="output directory")
    parser.add_argument("--n-train", type=int, default=50,
                        help="training utterances per speaker")
    parser.add_argument("--n-test", type=int, default=12,
                        help="parallel test utterances (shared by all speakers)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="seed for the sentence generator")
    parser.add_argument("--speakers", default=",".join(VOICES),
                        help="comma-separated speakers to build")
    parser.add_argument("--jobs", type=int, default=2,
                        help="number of synthesis processes run in parallel")
    parser.add_argument("--force", action="store_true",
                        help="re-synthesize files that already exist")
    args = parser.parse_args(argv)

    speakers = [s.strip() for s in args.speakers.split(",") if s.strip()]
    unknown = [s for s in speakers if s not in VOICES]
    if unknown:
        parser.error(f"unknown speaker(s) {unknown}; choose from {list(VOICES)}")
    if args.n_train < 0 or args.n_test < 0 or args.jobs < 1:
        parser.error("--n-train/--n-test must be >= 0 and --jobs >= 1")
    for tool in ("text2wave", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"error: '{tool}' not found; install festival and sox")

    out: Path = args.out
    plan = plan_corpus(speakers, args.n_train, args.n_test, args.seed)

    # Decide what to (re)build.  An existing file is kept only if the old
    # transcript says it holds the same text, so a different --seed or size
    # never leaves audio and transcripts out of step.  Files that are no
    # longer part of the plan are removed for the same reason.
    todo: list[Utterance] = []
    for spk in speakers:
        for subset in ("train", "test"):
            old = read_transcript(out / spk / f"{subset}.txt")
            wanted = [u for u in plan if u.speaker == spk and u.subset == subset]
            keep_ids = {u.fileid for u in wanted}
            subset_dir = out / spk / subset
            if subset_dir.is_dir():
                for f in subset_dir.glob("*.flac"):
                    if f.stem not in keep_ids:
                        print(f"removing stale {f}", flush=True)
                        f.unlink()
            for u in wanted:
                dest = u.path(out)
                if dest.exists() and not args.force and old.get(u.fileid) == u.text:
                    continue
                dest.unlink(missing_ok=True)
                todo.append(u)
            # Transcripts are written before synthesis: every file on disk
            # now matches them, and missing files are filled in on a rerun.
            (out / spk).mkdir(parents=True, exist_ok=True)
            (out / spk / f"{subset}.txt").write_text(
                "".join(f"{u.fileid}|{u.text}\n" for u in wanted), encoding="utf-8")

    print(f"{len(plan)} utterances planned, {len(plan) - len(todo)} present, "
          f"{len(todo)} to synthesize", flush=True)

    if todo:
        check_voices(sorted({u.speaker for u in todo}, key=list(VOICES).index))
        lock, done, failures = threading.Lock(), 0, []
        # Threads are enough here: each job spends its time in the
        # text2wave and sox child processes.
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(synthesize, VOICES[u.speaker], u.text,
                                   u.path(out)): u for u in todo}
            for fut in as_completed(futures):
                u = futures[fut]
                with lock:
                    done += 1
                    try:
                        secs = fut.result()
                        print(f"[{done:4d}/{len(todo)}] {u.speaker}/{u.subset}/"
                              f"{u.fileid}.flac {secs:5.2f} s  {u.text}", flush=True)
                    except Exception as err:  # report all failures at the end
                        failures.append((u, err))
                        print(f"[{done:4d}/{len(todo)}] FAILED {u.fileid}: {err}",
                              flush=True)
        if failures:
            print(f"error: {len(failures)} utterance(s) failed", file=sys.stderr)
            return 1

    write_readme(out, args.seed)
    print(f"done: corpus in {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
