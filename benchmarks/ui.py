"""The local web page (`vcgan ui`) as a user meets it: cold start of the server, the time to
convert a 5-second utterance with the shipped StarGAN-VC2 through the page's endpoint, the
server's memory over 20 conversions in a row, and (with --screenshots DIR) a screenshot of
each tab after it has done its work, in headless Chromium.

    python benchmarks/ui.py [--screenshots docs/images] [--threads N]

Prints one JSON object; docs/benchmarks.md records the results with the machine.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "recipes" / "demo" / "corpus"
VC_MODEL = "stargan-vc2-kal-ked-slt"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def five_seconds() -> Path:
    """A 5.0-s utterance of kal (two of the bundled corpus's test sentences, cut to 5 s)."""
    parts = [sf.read(p)[0] for p in sorted((CORPUS / "kal" / "test").glob("*.flac"))[:3]]
    x = np.concatenate(parts)[: 5 * 16000]
    path = Path(tempfile.mkdtemp()) / "kal_5s.wav"
    sf.write(path, x, 16000)
    return path


def post(url: str, fields: dict, files: dict) -> dict:
    """A multipart POST with the standard library (what the page's fetch sends)."""
    boundary = "----vcganbench"
    body = io.BytesIO()
    for k, v in fields.items():
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
    for k, path in files.items():
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{Path(path).name}\"\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n".encode())
        body.write(Path(path).read_bytes())
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    req = urllib.request.Request(url, data=body.getvalue(), method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def screenshots(base: str, out: Path) -> list[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from test_ui import _browser

    out.mkdir(parents=True, exist_ok=True)
    b = _browser()
    written = []
    try:
        b.set_window_size(1200, 1250)
        b.get(base)
        wait = WebDriverWait(b, 120)
        wait.until(lambda d: d.find_element(By.ID, "vc-model").get_attribute("value"))
        Select(b.find_element(By.ID, "vc-source")).select_by_value("kal")
        Select(b.find_element(By.ID, "vc-target")).select_by_value("slt")
        def run_tab(tab: str, upload: Path, ready_js: str, settle: float, name: str) -> None:
            """Upload into ``tab``, press its button, wait until ``ready_js`` holds, screenshot."""
            b.find_element(By.ID, f"{tab}-file").send_keys(str(upload))
            b.find_element(By.ID, f"{tab}-go").click()
            wait.until(lambda d: d.execute_script(ready_js))
            time.sleep(settle)  # let the players and figures draw
            b.save_screenshot(str(out / name))
            written.append(name)

        audio_ready = "return document.getElementById('{}-after').readyState >= 1"
        run_tab("vc", CORPUS / "kal" / "test" / "test_001.flac", audio_ready.format("vc"), 1.0,
                "ui_voice_conversion.png")

        b.find_element(By.CSS_SELECTOR, "[data-tab=pf]").click()
        run_tab("pf", ROOT / "tests" / "data" / "festival" / "kal_002.flac", audio_ready.format("pf"), 1.5,
                "ui_postfilter.png")

        b.find_element(By.CSS_SELECTOR, "[data-tab=img]").click()
        options = [o.get_attribute("value") for o in b.find_elements(By.CSS_SELECTOR, "#img-model option")]
        pick = next((o for o in options if o.startswith("cyclegan-sneaker")), "pix2pix-edges-fashion")
        Select(b.find_element(By.ID, "img-model")).select_by_value(pick)
        shoe = Path(tempfile.mkdtemp()) / "sneaker.png"
        from PIL import Image

        from vcgan.pretrained.check import fashion_mnist_images

        # a test sneaker (CycleGAN) or its Canny edges (pix2pix)
        x = fashion_mnist_images(ROOT / "tests" / "data" / "fashion-mnist", [7], per_class=1,
                                 edges=pick.startswith("pix2pix"))[0, 0].numpy()
        Image.fromarray(((x + 1) * 127.5).round().astype(np.uint8)).save(shoe)
        run_tab("img", shoe, "const i = document.getElementById('img-after'); return i.complete && i.naturalWidth > 0;",
                0.5, "ui_images.png")
    finally:
        b.quit()
    return written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--screenshots", type=Path, help="write a screenshot of each tab into this folder")
    p.add_argument("--threads", type=int, help="torch threads of the server (default: torch's)")
    p.add_argument("--runs", type=int, default=20, help="conversions in a row for the memory measure")
    a = p.parse_args()
    env = dict(os.environ)
    if a.threads:
        env["OMP_NUM_THREADS"] = str(a.threads)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "vcgan.cli", "ui", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(server.stderr.read().decode())
                time.sleep(0.05)
        cold = time.perf_counter() - t0
        t1 = time.perf_counter()
        urllib.request.urlopen(base + "/api/models").read()
        models_s = time.perf_counter() - t1
        rss_start = rss_mb(server.pid)
        wav = five_seconds()
        fields = {"model": VC_MODEL, "source": "kal", "target": "slt", "semitones": "0"}
        times, totals, rss = [], [], []
        for _ in range(a.runs):
            t = time.perf_counter()
            out = post(base + "/api/convert", fields, {"file": wav})
            totals.append(time.perf_counter() - t)
            times.append(out["convert_seconds"])
            rss.append(rss_mb(server.pid))
        shots = screenshots(base, a.screenshots) if a.screenshots else []
    finally:
        server.terminate()
        server.wait()
    import torch

    print(json.dumps({
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": a.threads or torch.get_num_threads(),
        "cold_start_s": round(cold, 2), "first_model_listing_s": round(models_s, 2),
        "utterance_s": 5.0, "convert_s_median": round(float(np.median(times)), 3),
        "convert_s_first": round(times[0], 3), "request_s_median": round(float(np.median(totals)), 3),
        "rss_mb_after_listing": round(rss_start, 1), "rss_mb_after_each": [round(r, 1) for r in rss],
        "rss_mb_growth_runs_2_to_last": round(rss[-1] - rss[1], 1), "screenshots": shots,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
