"""Peak memory of converting a long input: whole, and in pieces (the default above 30 s).

Builds a 10-minute input from the bundled corpus's test sentences (0.3 s pauses between
them), then converts it in a fresh process each way with the statistics transform (the
WORLD analysis and synthesis dominate memory; a generator adds its chunked activations)
and reports each process's peak resident memory and time.

usage: python benchmarks/long_input.py [--minutes 10] [--out /tmp/long_input]
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--out", default="/tmp/long_input")
    a = ap.parse_args(argv)
    import numpy as np

    from vcgan.features import load_audio, save_audio
    from vcgan.engine.precision import hardware_summary

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = Path(__file__).resolve().parents[1] / "recipes" / "demo" / "corpus" / "kal" / "test"
    sentences = [load_audio(f, 16000) for f in sorted(corpus.glob("*.*"))]
    pause = np.zeros(int(0.3 * 16000))
    parts, total, i = [], 0, 0
    while total < a.minutes * 60 * 16000:
        s = sentences[i % len(sentences)]
        parts += [s, pause]
        total += len(s) + len(pause)
        i += 1
    src = out / "input.wav"
    save_audio(src, np.concatenate(parts), 16000)
    results = {"input_minutes": total / 16000 / 60, "machine": hardware_summary(__import__("torch").device("cpu"))}
    for name, chunk in (("in pieces (default)", None), ("whole (--chunk-frames 0)", 0)):
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(src), str(4000 if chunk is None else 0),
                               str(out / f"out_{chunk}.wav")], capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        seconds, peak_kb = proc.stdout.split()[-2:]
        results[name] = {"convert_seconds": round(float(seconds), 1), "peak_rss_mib": round(int(peak_kb) / 1024),
                         "process_seconds": round(time.time() - t0, 1)}
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
