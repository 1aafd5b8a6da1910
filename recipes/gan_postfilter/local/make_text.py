#!/usr/bin/env python3
"""Write the recipe's sentence lists: ``id|sentence`` lines for training and test.

Sentences come from the demo corpus's template grammar with another seed, all unique;
the first ``--n-test`` are the test sentences, which neither the acoustic model nor the
postfilter sees in training.

    python local/make_text.py --out data/text --n-train 200 --n-test 20 [--seed 2017]
"""
import argparse
import importlib.util
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "demo" / "make_corpus.py"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2017)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("demo_make_corpus", DEMO)
    demo = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(demo)
    sentences = demo.SentenceMaker(a.seed).unique_sentences(a.n_test + a.n_train)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "test.txt").write_text("".join(f"test_{i:03d}|{s}\n" for i, s in enumerate(sentences[:a.n_test], 1)))
    (out / "train.txt").write_text("".join(f"train_{i:04d}|{s}\n" for i, s in enumerate(sentences[a.n_test:], 1)))
    print(f"{a.n_train} training and {a.n_test} test sentences -> {out}")


if __name__ == "__main__":
    main()
