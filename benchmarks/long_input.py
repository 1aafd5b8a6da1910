"""Peak memory of converting a long input: whole, and in pieces (the default above 30 s).

Builds inputs of 1, 2 and 10 minutes from the bundled corpus's test sentences (0.3 s
pauses between them), then converts each in a fresh process with the statistics transform
(the WORLD analysis and synthesis dominate memory; a generator adds its chunked
activations) and prints each process's peak resident memory and time, one JSON line each.

usage: python benchmarks/long_input.py [--minutes 1 2 10] [--whole-up-to 2] [--out /tmp/long_input]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import sys, time
import numpy as np
from vcgan.features import FeatureConfig, load_audio, save_audio
from vcgan.models.voice_conversion.converter import Converter
from vcgan.models.voice_conversion.pipeline import identity
stats = {"spectral_mean": [0.0] * 36, "spectral_std": [1.0] * 36, "log_f0_mean": 4.6, "log_f0_std": 0.2}
conv = Converter(FeatureConfig(), {"a": stats, "b": stats}, lambda s, t: identity, "statistics transform")
x = load_audio(sys.argv[1], 16000)
t = time.time()
y = conv.convert_array(x, "a", "b", chunk_frames=int(sys.argv[2]))
save_audio(sys.argv[3], y, 16000)
import resource
print(time.time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _input(minutes: float, path: Path) -> float:
    """A ``minutes``-long input from the bundled corpus's test sentences, 0.3 s pauses between them."""
    import numpy as np

    from vcgan.features import load_audio, save_audio

    corpus = Path(__file__).resolve().parents[1] / "recipes" / "demo" / "corpus" / "kal" / "test"
    sentences = [load_audio(f, 16000) for f in sorted(corpus.glob("*.*"))]
    pause = np.zeros(int(0.3 * 16000))
    parts, total, i = [], 0, 0
    while total < minutes * 60 * 16000:
        parts += [sentences[i % len(sentences)], pause]
        total += len(parts[-2]) + len(pause)
        i += 1
    save_audio(path, np.concatenate(parts), 16000)
    return total / 16000 / 60


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 2.0, 10.0])
    ap.add_argument("--whole-up-to", type=float, default=2.0, help="convert whole inputs only up to this many "
                    "minutes (a whole 10-minute input needs more than 23 GB)")
    ap.add_argument("--out", default="/tmp/long_input")
    a = ap.parse_args(argv)
    import torch

    from vcgan.engine.precision import hardware_summary

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"machine": hardware_summary(torch.device("cpu"))}), flush=True)
    for minutes in a.minutes:
        src = out / f"input_{minutes:g}min.wav"
        length = _input(minutes, src)
        ways = [("in pieces (default)", 4000)] + ([("whole (--chunk-frames 0)", 0)] if minutes <= a.whole_up_to else [])
        for name, chunk in ways:
            t0 = time.time()
            proc = subprocess.run([sys.executable, "-c", CHILD, str(src), str(chunk), str(out / f"out_{chunk}.wav")],
                                  capture_output=True, text=True)
            row = {"input_minutes": round(length, 2), "conversion": name, "process_seconds": round(time.time() - t0, 1)}
            if proc.returncode:
                row["failed"] = "killed (out of memory)" if proc.returncode == -9 else proc.stderr[-500:]
            else:
                seconds, peak_kb = proc.stdout.split()[-2:]
                row.update(convert_seconds=round(float(seconds), 1), peak_rss_mib=round(int(peak_kb) / 1024))
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
