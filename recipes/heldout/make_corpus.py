#!/usr/bin/env python3
"""Build the held-out evaluation corpora (``dev``, ``test``, ``test2``, ``test3``, ``test4``) offline.

The bundled demo corpus (``recipes/demo``) is what the recipes' settings
were tuned on.  This script builds two further corpora with the same layout
and audio format but with sentences from a *different* generator (questions,
instructions, spelled-out times/dates/prices, longer compound sentences and
dialogue lines, with its own vocabulary), so models can be judged on speech
their configurations never saw:

* ``dev``:   kal, ked, slt (+ awb, rms, added later) -- for tuning decisions.
* ``test``:  kal, ked, slt, awb, rms -- read during tuning, so a second
  development set.
* ``test2``: kal, ked, slt, awb, rms -- for final reports only, measured once.
* ``test3``: kal, ked, slt, awb, rms -- the final report of a configuration
  chosen after test2 had been read (its own seed; skips every sentence above).
* ``test4``: kal, ked, slt -- the same, for the shipped three-voice model chosen
  after test3 had been read.

Each has 50 non-parallel training sentences per speaker and 15 parallel test
sentences.  dev and test come from one seeded stream of unique sentences:
dev takes the first block, test the next, then the training sentences of dev's
added speakers, so no sentence occurs twice in or across the two corpora.
test2 comes from a second stream with its own seed that skips every sentence
of dev, test and the demo corpus.  No sentence occurs twice in or across the
three corpora, and none occurs in the demo corpus (checked).

Voices and the Debian packages that provide them::

    kal  Festival voice_kal_diphone            festvox-kallpc16k   US male, diphone
    ked  Festival voice_ked_diphone            festvox-kdlpc16k    US male, diphone
    slt  Festival voice_cmu_us_slt_arctic_hts  festvox-us-slt-hts  US female, HTS
    awb  Flite cmu_us_awb (clustergen)         flite               Scottish male
    rms  Flite cmu_us_rms (clustergen)         flite               US male

plus ``festival`` and ``sox``.  awb and rms are statistical parametric voices
trained on the CMU ARCTIC recordings of those speakers.  Audio: mono 16 kHz
16-bit FLAC, silence trimmed to ~0.1 s each end, peaks at -1 dBFS (same sox
chain as recipes/demo/make_corpus.py, whose helpers are imported).

Layout: ``OUT/{dev,test,test2}/<speaker>/{train,test}/*.flac``, ``<speaker>/
{train,test}.txt`` (fileid|text) and a README.md per corpus.  Standard
library only; synthesis by ``text2wave``, ``flite`` and ``sox``.

    python recipes/heldout/make_corpus.py [--out DIR]
                                          [--which dev|test|test2|both|all]
                                          [--force] [--jobs 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "demo"
_spec = importlib.util.spec_from_file_location("demo_make_corpus", DEMO / "make_corpus.py")
demo = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(demo)  # dataclasses need the module registered
Utterance, read_transcript = demo.Utterance, demo.read_transcript
flac_duration = demo.flac_duration

# speaker -> (engine, voice, Debian package, description).  A speaker's
# training sentences depend on its position in CORPORA[corpus].
VOICES = {
    "kal": ("festival", "voice_kal_diphone", "festvox-kallpc16k", "Festival diphone, US male"),
    "ked": ("festival", "voice_ked_diphone", "festvox-kdlpc16k", "Festival diphone, US male"),
    "slt": ("festival", "voice_cmu_us_slt_arctic_hts", "festvox-us-slt-hts",
            "Festival HTS, US female, 32 kHz resampled"),
    "awb": ("flite", "awb", "flite", "Flite clustergen, CMU ARCTIC, Scottish male"),
    "rms": ("flite", "rms", "flite", "Flite clustergen, CMU ARCTIC, US male"),
}
CORPORA = {"dev": ["kal", "ked", "slt"], "test": ["kal", "ked", "slt", "awb", "rms"]}
# Speakers added to a corpus after it was first built: their training sentences come from
# a block after every corpus's, so no earlier speaker's sentences change. dev gains the two
# voices only test had, so tuning sees test's load (five voices, 20 directions).
ADDED = {"dev": ["awb", "rms"]}
N_TRAIN, N_TEST, SEED = 50, 15, 20240917
# Corpora built later from a stream of their own: name -> (seed, speakers).  The stream
# skips every sentence of the corpora above and of the demo corpus.  test2 replaces test
# for final reports (test was read during tuning); test3 replaces test2 once a configuration
# chosen after test2 was read needs a final report of its own.
LATER_CORPORA = {"test2": (20261206, ["kal", "ked", "slt", "awb", "rms"]),
                 "test3": (20261207, ["kal", "ked", "slt", "awb", "rms"]),
                 "test4": (20261208, ["kal", "ked", "slt"])}
MIN_WORDS, MAX_WORDS, MAX_CHARS = 6, 17, 95  # keeps every file well under 8 s
MIN_SEC, MAX_SEC = 1.5, 8.0

# ---------------------------------------------------------------------------
# Sentence generator (all text written for this script)
# ---------------------------------------------------------------------------
ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORD = {"one": "first", "two": "second", "three": "third", "five": "fifth",
       "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
MONTHS = ("January February March April May June July August September October "
          "November December").split()
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def num(n: int) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (f"-{ONES[n % 10]}" if n % 10 else "")
    if n < 1000:
        return f"{ONES[n // 100]} hundred" + (f" and {num(n % 100)}" if n % 100 else "")
    return f"{num(n // 1000)} thousand" + (
        "" if n % 1000 == 0 else (" and " if n % 1000 < 100 else " ") + num(n % 1000))


def ordinal(n: int) -> str:
    head, sep, last = num(n).rpartition("-")
    last = ORD.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return head + sep + last


NAMES = [("Priya", "her"), ("Oscar", "his"), ("Fiona", "her"), ("Malcolm", "his"),
         ("Yusuf", "his"), ("Greta", "her"), ("Leon", "his"), ("Nadia", "her"),
         ("Ruth", "her"), ("Simon", "his"), ("Bernard", "his"), ("Clara", "her"),
         ("Felix", "his"), ("Irene", "her"), ("Hugo", "his"), ("Tessa", "her")]
CITIES = ["Glasgow", "Boston", "Denver", "Leeds", "Dublin", "Seattle", "Cardiff",
          "Toronto", "Chicago", "Bristol", "Portland", "Aberdeen"]
TRAINS = ["train", "coach", "express", "sleeper train", "stopping service"]
ARRIVALS = ["ferry", "night bus", "flight", "train", "coach"]
FACILITIES = ["pharmacy", "post office", "swimming pool", "cash machine", "museum",
              "car park", "dentist", "laundrette", "hardware store", "town hall",
              "petrol station", "bookshop", "police station", "youth hostel"]
PROFESSIONALS = ["dentist", "optician", "accountant", "vet", "plumber",
                 "hairdresser", "lawyer", "electrician", "piano tuner"]
ITEMS = ["winter coat", "concert ticket", "pair of boots", "second-hand guitar",
         "taxi ride", "hotel room", "birthday present", "repair", "phone charger",
         "bunch of flowers"]
LANDMARKS = ["traffic light", "roundabout", "crossroads", "zebra crossing", "church"]
COOK = [("Fry the mushrooms", 3, 10, ["add a pinch of salt", "stir in the cream"]),
        ("Boil the potatoes", 12, 25, ["drain off the water", "mash them with butter"]),
        ("Simmer the sauce", 10, 30, ["stir in the cream", "season it with black pepper"]),
        ("Roast the peppers", 20, 40, ["let them cool down", "peel off the skins"]),
        ("Knead the dough", 5, 12, ["cover the bowl with a towel", "leave it somewhere warm"]),
        ("Steam the broccoli", 4, 8, ["sprinkle some parsley on top", "serve it straight away"]),
        ("Whisk the eggs", 2, 4, ["fold in the flour", "pour them into the hot pan"]),
        ("Soften the onions", 5, 10, ["add the crushed garlic", "stir in the tomatoes"])]
DEVICE_THEN = ["unplug the machine", "try the whole thing again", "restart the router",
               "wait for the green light", "call the help desk", "close the lid gently"]
COLORS = ["red", "green", "grey", "round", "small", "square", "orange"]
DELAYS = ["the meeting ran over by an hour", "the motorway was closed after an accident",
          "our flight was delayed by fog", "the ferry was cancelled because of the wind",
          "the coach broke down outside the city", "the trains were on strike",
          "the printer jammed halfway through the report", "the lift was out of order"]
RESULTS = ["we missed the last connection and slept in a guesthouse",
           "nobody got home before midnight", "we had to share an expensive taxi",
           "the whole rehearsal was moved to Thursday", "we ended up walking for miles",
           "I phoned ahead to warn the others", "the dinner reservation was lost"]
TASKS = ["call the plumber", "return the library books", "water the plants",
         "renew the car insurance", "book the restaurant", "cancel the newspaper",
         "pay the electricity bill", "collect the dry cleaning", "defrost the freezer"]
OPENERS = ["Hello {n}", "Good evening, {n}", "Oh, {n}", "By the way, {n}", "Well, {n}",
           "Listen, {n}", "Morning, {n}", "Excuse me, {n}"]
LINES = ["did you manage to sleep after the long drive?",
         "I honestly thought you had already left for the airport.",
         "would you mind holding the door for a second?",
         "I think you have picked up my umbrella by mistake.",
         "could you keep an eye on my bag while I queue?",
         "I am afraid the soup is a little too salty today.",
         "have you seen where I put the spare keys?",
         "I would rather stay in tonight and watch a film.",
         "we are running about ten minutes behind schedule.",
         "is there any chance you could lend me a pen?",
         "I did not catch your surname, could you spell it for me?",
         "you should really try the lemon tart here.",
         "the forecast says it will clear up by the weekend.",
         "what time does your shift finish tonight?"]
EXPERIENCES = ["climbed a mountain before sunrise", "forgotten your own phone number",
               "slept in a tent during a thunderstorm", "tried to learn the violin",
               "missed a plane by a few minutes", "cooked dinner for twenty people",
               "found money in an old coat pocket", "ridden a camel"]
RATHER = [("live by the sea", "live in the mountains"), ("take the stairs", "wait for the lift"),
          ("read the book", "watch the film"), ("travel by train", "drive yourself"),
          ("work early mornings", "work late evenings"), ("have tea", "have coffee")]
WEATHER = ["bright and dry", "grey and drizzly", "cold and frosty", "warm but windy",
           "cloudy and still", "misty"]
LATER = ["heavy showers", "sunny spells", "a strong breeze", "thunder",
         "light snow", "patches of fog"]
PARTY = [("chairs", "folding"), ("candles", "white"), ("glasses", "clean"),
         ("plates", "paper"), ("sandwiches", "cheese"), ("balloons", "blue")]
TROUBLE = ["get lost on the way", "need a lift home", "feel unwell during the trip",
           "lose your ticket", "arrive after ten", "cannot find the entrance"]
HELP = ["ring me on my mobile", "ask at the front desk", "wait by the main gate",
        "send me a short message", "speak to the guard", "go straight to reception"]


class HeldoutSentences:
    """Seeded sentences built from the templates below (not the demo grammar)."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.templates = [getattr(self, m) for m in sorted(dir(self)) if m.startswith("t_")]

    def c(self, seq):
        return self.r.choice(seq)

    def time(self) -> str:
        h = num(self.r.randint(1, 12))
        return self.c([f"{h} o'clock", f"half past {h}", f"a quarter past {h}",
                       f"a quarter to {h}", f"twenty past {h}", f"ten to {h}",
                       f"{h} {num(self.c([10, 15, 20, 25, 35, 40, 45, 50]))}"])

    def date(self) -> str:
        return f"the {ordinal(self.r.randint(1, 28))} of {self.c(MONTHS)}"

    def money(self) -> str:
        return f"{num(self.r.randint(2, 199))} dollars and {num(5 * self.r.randint(1, 19))} cents"

    def name(self):
        return self.c(NAMES)

    def t_departure(self):
        return self.c([
            f"the {self.c(TRAINS)} to {self.c(CITIES)} leaves at {self.time()} "
            f"from platform {num(self.r.randint(1, 14))}.",
            f"the last {self.c(ARRIVALS)} from {self.c(CITIES)} gets in at {self.time()} "
            f"on {self.c(DAYS)}s."])

    def t_appointment(self):
        n, _ = self.name()
        return (f"{n}'s appointment with the {self.c(PROFESSIONALS)} is on {self.date()} "
                f"at {self.time()}.")

    def t_price(self):
        return (f"the {self.c(ITEMS)} cost {self.money()}, which was "
                f"{self.c(['more than I expected', 'less than we had feared', 'a fair price'])}.")

    def t_where(self):
        f = self.c(FACILITIES)
        return self.c([f"excuse me, could you tell me where the nearest {f} is?",
                       f"do you know whether the {f} is open on {self.c(DAYS)} afternoons?",
                       f"how long does it take to walk to the {f} from here?",
                       f"is it true that the {f} closes at {self.time()} in winter?"])

    def t_route(self):
        return (f"turn {self.c(['left', 'right'])} at the {ordinal(self.r.randint(1, 3))} "
                f"{self.c(LANDMARKS)} and keep going until you reach the {self.c(FACILITIES)}.")

    def t_recipe(self):
        step, lo, hi, then = self.c(COOK)
        return f"{step} for {num(self.r.randint(lo, hi))} minutes, then {self.c(then)}."

    def t_device(self):
        return (f"press the {self.c(COLORS)} button {self.c(['twice', 'once', 'three times'])}, "
                f"wait {num(self.r.randint(5, 30))} seconds, and then {self.c(DEVICE_THEN)}.")

    def t_compound(self):
        d, res = self.c(DELAYS), self.c(RESULTS)
        return self.c([f"{d}, so {res}.", f"because {d}, {res}."])

    def t_promise(self):
        n, pos = self.name()
        return (f"{n} promised to {self.c(TASKS)} before {self.c(DAYS)}, but "
                f"{self.c(['forgot all about it', 'ran out of time', 'left the note at home'])}.")

    def t_dialogue(self):
        line = self.c(LINES)
        return f"{self.c(OPENERS).format(n=self.name()[0])}, {line}"

    def t_question(self):
        a, b = self.c(RATHER)
        return self.c([f"have you ever {self.c(EXPERIENCES)}?",
                       f"would you rather {a} or {b}?",
                       f"what were you doing on {self.date()} last year?"])

    def t_forecast(self):
        return (f"{self.c(['tomorrow', 'on ' + self.c(DAYS)])} will be "
                f"{self.c(WEATHER)} at first, "
                f"with {self.c(LATER)} later and a high of {num(self.r.randint(3, 31))} degrees.")

    def t_order(self):
        (a, adj), (b, _) = self.r.sample(PARTY, 2)
        return (f"we need {num(self.r.randint(12, 60))} {adj} {a} and "
                f"{num(self.r.randint(2, 11))} {b} for the party on {self.date()}.")

    def t_if(self):
        return f"if you {self.c(TROUBLE)}, {self.c(HELP)}."

    def t_phone(self):
        digits = " ".join(ONES[self.r.randint(0, 9)] for _ in range(self.r.randint(5, 7)))
        n, pos = self.name()
        return f"{n} said {pos} new number is {digits}, but only after {self.time()}."

    def t_history(self):
        y = self.r.randint(1950, 2019)
        year = (f"nineteen {num(y - 1900)}" if y < 2000 else "two thousand" if y == 2000
                else f"two thousand and {num(y - 2000)}")
        n, pos = self.name()
        return f"{n} moved to {self.c(CITIES)} in {year} and still lives near {pos} old school."

    def sentence(self) -> str:
        text = self.c(self.templates)()
        return text[0].upper() + text[1:]

    def stream(self, count: int, exclude: frozenset[str] = frozenset()) -> list[str]:
        """`count` unique sentences, none whose normalized text is in `exclude`."""
        seen, out = set(exclude), []
        while len(out) < count:
            text = self.sentence()
            key = normalize(text)
            if (MIN_WORDS <= len(text.split()) <= MAX_WORDS and len(text) <= MAX_CHARS
                    and key not in seen):
                seen.add(key)
                out.append(text)
        return out


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def demo_sentences() -> set[str]:
    return {normalize(t) for p in (DEMO / "corpus").glob("*/*.txt")
            for t in read_transcript(p).values()}


def speakers_of(corpus: str) -> list[str]:
    if corpus in LATER_CORPORA:
        return LATER_CORPORA[corpus][1]
    return CORPORA[corpus] + ADDED.get(corpus, [])


def seed_of(corpus: str, seed: int) -> int:
    """The sentence seed of `corpus`; `seed` is that of the dev/test stream."""
    return LATER_CORPORA[corpus][0] if corpus in LATER_CORPORA else seed


def deal(block: list[str], speakers: list[str]) -> list:
    """A corpus from its sentences: the first N_TEST are every speaker's test
    sentences, the rest are dealt round-robin as training sentences."""
    test, rest = block[:N_TEST], block[N_TEST:]
    plan = []
    for k, spk in enumerate(speakers):
        plan += [Utterance(spk, "train", f"{spk}_train_{i:03d}", t)
                 for i, t in enumerate(rest[k::len(speakers)], 1)]
        plan += [Utterance(spk, "test", f"test_{i:03d}", t) for i, t in enumerate(test, 1)]
    return plan


def check_disjoint(plans: dict[str, list], demo: set[str]) -> None:
    """Exit if a sentence occurs in two corpora, twice in one, or in the demo corpus."""
    owner: dict[str, str] = {}
    for corpus, plan in plans.items():
        texts = {}  # normalized text -> (subset, fileid); parallel test sentences repeat
        for u in plan:
            key = normalize(u.text)
            where = "test" if u.subset == "test" else u.fileid
            if texts.setdefault(key, where) != where:
                sys.exit(f"error: sentence twice in {corpus}: {u.text!r}")
        for key in texts:
            if key in demo:
                sys.exit(f"error: sentence of {corpus} also in the demo corpus: {key!r}")
            if owner.setdefault(key, corpus) != corpus:
                sys.exit(f"error: sentence in both {owner[key]} and {corpus}: {key!r}")


def plan_all(seed: int) -> dict[str, list]:
    """dev and test from one unique stream: [dev test | dev train | test test |
    test train | dev's added speakers' train]; train sentences are dealt
    round-robin over the speakers.  Each corpus of LATER_CORPORA from a stream
    of its own seed that skips the sentences of every corpus before it and of
    the demo corpus."""
    sizes = {c: N_TEST + N_TRAIN * len(s) for c, s in CORPORA.items()}
    added = sum(N_TRAIN * len(s) for s in ADDED.values())
    pool = HeldoutSentences(seed).stream(sum(sizes.values()) + added)
    demo = demo_sentences()
    clash = {normalize(t) for t in pool} & demo
    if clash:  # never happens with the shipped vocabularies; guards edits
        sys.exit(f"error: sentences also in the demo corpus: {sorted(clash)[:5]}")
    plans, start = {}, 0
    for corpus, speakers in CORPORA.items():
        block, start = pool[start:start + sizes[corpus]], start + sizes[corpus]
        plans[corpus] = deal(block, speakers)
    for corpus, speakers in ADDED.items():
        tests = [u for u in plans[corpus] if u.speaker == CORPORA[corpus][0] and u.subset == "test"]
        for spk in speakers:
            block, start = pool[start:start + N_TRAIN], start + N_TRAIN
            plans[corpus] += [Utterance(spk, "train", f"{spk}_train_{i:03d}", t) for i, t in enumerate(block, 1)]
            plans[corpus] += [Utterance(spk, "test", u.fileid, u.text) for u in tests]
    for corpus, (later_seed, speakers) in LATER_CORPORA.items():
        used = frozenset(normalize(u.text) for plan in plans.values() for u in plan) | demo
        block = HeldoutSentences(later_seed).stream(N_TEST + N_TRAIN * len(speakers), used)
        plans[corpus] = deal(block, speakers)
    check_disjoint(plans, demo)
    return plans


# ---------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------
def synthesize(spk: str, text: str, dest: Path) -> float:
    """Render `text` with speaker `spk`'s voice into `dest` (atomic)."""
    engine, voice, package, _ = VOICES[spk]
    with tempfile.TemporaryDirectory(prefix="vcgan_heldout_") as tmp:
        txt, raw = Path(tmp) / "in.txt", Path(tmp) / "raw.wav"
        txt.write_text(text + "\n", encoding="utf-8")
        cmd = (["text2wave", "-eval", f"({voice})", "-o", str(raw), str(txt)]
               if engine == "festival" else
               ["flite", "-voice", voice, "-f", str(txt), "-o", str(raw)])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not raw.exists():
            raise RuntimeError(f"{engine} failed for {spk} (package {package}): "
                               f"{proc.stderr.strip()}")
        demo.finish_audio(raw, dest, f"{spk}: silent/empty audio (is {package} installed?) "
                                     f"for {text!r}: {proc.stderr.strip()}")
    return flac_duration(dest)


def check_voices(speakers: list[str]) -> None:
    """Exit with a message naming the Debian package if a voice is missing."""
    tools = {"sox": "sox"}
    for spk in speakers:
        tools.update([("text2wave", "festival")] if VOICES[spk][0] == "festival"
                     else [("flite", "flite")])
    for tool, pkg in tools.items():
        if shutil.which(tool) is None:
            sys.exit(f"error: '{tool}' not found: apt-get install {pkg}")
    flite_voices = (subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout.split()
                    if shutil.which("flite") else [])
    for spk in speakers:
        engine, voice, package, _ = VOICES[spk]
        if engine == "flite" and voice not in flite_voices:  # flite silently falls back
            sys.exit(f"error: flite voice '{voice}' for speaker '{spk}' missing: "
                     f"apt-get install {package}")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                synthesize(spk, "This is a test.", Path(tmp) / "t.flac")
            except (RuntimeError, subprocess.CalledProcessError) as err:
                sys.exit(f"error: voice {voice} for speaker '{spk}' does not work; "
                         f"install Debian package '{package}'.\n{err}")
        print(f"voice ok: {spk} ({engine} {voice}, package {package})", flush=True)


def write_readme(out: Path, corpus: str, seed: int) -> None:
    rows, total_n, total_s = [], 0, 0.0
    for spk in speakers_of(corpus):
        cells = []
        for subset in ("train", "test"):
            durs = [flac_duration(f) for f in sorted((out / spk / subset).glob("*.flac"))]
            cells.append(f"{len(durs)} ({sum(durs):.1f} s)")
            total_n, total_s = total_n + len(durs), total_s + sum(durs)
        _, voice, package, desc = VOICES[spk]
        rows.append(f"| `{spk}` | `{voice}`: {desc} | `{package}` | {cells[0]} | {cells[1]} |")
    use = {"dev": "tuning decisions (model/config selection)",
           "test": "a second development set -- it was read during tuning; report on test2"}.get(
               corpus, "final reports only -- measured once, never tune on it")
    (out / "README.md").write_text(f"""# vcgan held-out corpus: `{corpus}`

Built by `recipes/heldout/make_corpus.py` (seed {seed}); not committed, rebuild
with `python recipes/heldout/make_corpus.py --which {corpus}`. Use: {use}.
Sentences come from the held-out generator in that script (not the demo grammar);
none occurs in the demo corpus, in the other held-out corpora, or twice here.

| speaker | voice | Debian package | train utts | test utts |
|---------|-------|----------------|------------|-----------|
{chr(10).join(rows)}

Total: {total_n} files, {total_s / 60:.1f} minutes.  Training data is non-parallel;
the {N_TEST} test sentences are parallel (`<speaker>/test/test_NNN.flac`).
Layout `<speaker>/{{train,test}}/*.flac`, `<speaker>/{{train,test}}.txt` (fileid|text);
mono 16 kHz 16-bit FLAC, ~0.1 s silence each end, peak -1 dBFS.
""", encoding="utf-8")


def build(out: Path, corpus: str, plan: list, seed: int, force: bool, jobs: int) -> int:
    todo = []
    for spk in speakers_of(corpus):
        for subset in ("train", "test"):
            wanted = [u for u in plan if u.speaker == spk and u.subset == subset]
            old = read_transcript(out / spk / f"{subset}.txt")
            ids = {u.fileid for u in wanted}
            for f in (out / spk / subset).glob("*.flac") if (out / spk / subset).is_dir() else []:
                if f.stem not in ids:
                    f.unlink()
            for u in wanted:
                if force or old.get(u.fileid) != u.text or not u.path(out).exists():
                    u.path(out).unlink(missing_ok=True)
                    todo.append(u)
            (out / spk).mkdir(parents=True, exist_ok=True)
            (out / spk / f"{subset}.txt").write_text(
                "".join(f"{u.fileid}|{u.text}\n" for u in wanted), encoding="utf-8")
    print(f"[{corpus}] {len(plan)} planned, {len(todo)} to synthesize", flush=True)
    bad = []
    if todo:
        check_voices(sorted({u.speaker for u in todo}, key=list(VOICES).index))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futs = [(u, pool.submit(synthesize, u.speaker, u.text, u.path(out))) for u in todo]
            for i, (u, fut) in enumerate(futs, 1):
                try:
                    sec = fut.result()
                    print(f"[{corpus} {i:4d}/{len(todo)}] {u.speaker}/{u.subset}/{u.fileid} "
                          f"{sec:5.2f} s  {u.text}", flush=True)
                    if not MIN_SEC <= sec <= MAX_SEC:
                        bad.append(f"{u.path(out)}: {sec:.2f} s outside {MIN_SEC}-{MAX_SEC} s")
                except Exception as err:  # report all failures at the end
                    bad.append(f"{u.path(out)}: {err}")
    for line in bad:
        print(f"error: {line}", file=sys.stderr)
    write_readme(out, corpus, seed)
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "corpus", help="output root")
    ap.add_argument("--which", choices=["dev", "test", *LATER_CORPORA, "both", "all"],
                    default="all", help="corpus to build; both: dev and test; all: every corpus")
    ap.add_argument("--seed", type=int, default=SEED,
                    help="sentence generator seed of dev and test (test2 has its own)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel synthesis processes")
    ap.add_argument("--force", action="store_true", help="re-synthesize existing files")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    plans = plan_all(args.seed)
    rc, t0 = 0, time.time()
    which = {"both": ["dev", "test"], "all": list(plans)}.get(args.which, [args.which])
    for corpus in which:
        rc |= build(args.out / corpus, corpus, plans[corpus], seed_of(corpus, args.seed),
                    args.force, args.jobs)
    print(f"done in {time.time() - t0:.0f} s: {args.out}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
