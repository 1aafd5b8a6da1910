"""The local web page (`vcgan ui`): its endpoints through Starlette's own client (models and
cards, convert, batch to a zip, postfilter, translate, sample, complete, every kind of bad
upload answered with a message while the server keeps serving, results kept bounded), and one
end-to-end run in a real headless Chromium: upload a fixture, click Convert, wait for the
converted audio, screenshot."""
import io
import os
import socket
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient  # the test extra installs the ui extra and httpx

import vcgan
from vcgan.cli import main as cli
from vcgan.ui.app import create_app

FMNIST = Path(__file__).parent / "data" / "fashion-mnist"
KAL = Path(__file__).parent / "data" / "festival" / "kal_001.flac"


def run(args) -> int:
    return cli([str(a) for a in args])


@pytest.fixture(scope="module")
def checkpoints(applied_kinds):
    return applied_kinds


@pytest.fixture(scope="module")
def client(checkpoints, tmp_path_factory):
    app = create_app(checkpoints=list(checkpoints.values()), max_seconds=8.0,
                     results_root=tmp_path_factory.mktemp("ui_results"), keep=5)
    with TestClient(app) as c:
        yield c


def ids(client) -> dict:
    listed = client.get("/api/models").json()["models"]
    return {m["id"]: m for m in listed}


def wav_bytes(x, sr, subtype="PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def test_the_page_lists_shipped_and_local_models_with_their_cards(client):
    page = client.get("/")
    assert page.status_code == 200 and "Voice conversion" in page.text and "/static/app.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    for asset in ("/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text
    models = ids(client)
    assert {m["command"] for m in models.values()} >= {"convert", "postfilter", "translate", "sample", "complete"}
    assert models["vc"]["speakers"] == ["kal", "slt"] and models["img"]["domains"] == ["sneaker", "ankle-boot"]
    for name in vcgan.pretrained.names():
        assert models[name]["shipped"] and "## Held-out scores" in models[name]["card"]
    assert "A local checkpoint" in models["vc"]["card"]


def test_convert_returns_before_after_a_plot_and_the_models_conversion(client, checkpoints):
    r = client.post("/api/convert", data={"model": "vc", "source": "kal", "target": "slt", "semitones": "0"},
                    files={"file": ("my voice.flac", KAL.read_bytes(), "audio/flac")})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["after"].endswith("/my_voice_kal_to_slt.wav") and out["duration"] == pytest.approx(3.16, abs=0.05)
    after, sr = sf.read(io.BytesIO(client.get(out["after"]).content))
    before, _ = sf.read(io.BytesIO(client.get(out["before"]).content))
    x, _ = sf.read(KAL)
    want = vcgan.load(checkpoints["vc"]).apply(x.astype(np.float64), "kal", "slt")
    assert sr == 16000 and np.abs(after - want).max() < 1e-3 and np.abs(before - x).max() < 1e-3
    assert client.get(out["plot"]).content[:4] == b"\x89PNG"
    assert out["convert_seconds"] > 0 and out["seconds"] >= out["convert_seconds"]
    r = client.get(out["download"] + "?download=1")
    assert "attachment" in r.headers["content-disposition"]


def test_pitch_shift_on_the_page_moves_f0(client):
    import pyworld

    f0s = {}
    for k in ("0", "12"):
        out = client.post("/api/convert", data={"model": "vc", "source": "kal", "target": "slt", "semitones": k},
                          files={"file": ("a.flac", KAL.read_bytes())}).json()
        y, sr = sf.read(io.BytesIO(client.get(out["after"]).content))
        f0, _ = pyworld.harvest(y.astype(np.float64), sr, frame_period=5.0)
        f0s[k] = np.median(f0[f0 > 0])
    assert f0s["12"] / f0s["0"] == pytest.approx(2.0, rel=0.03)


def test_every_bad_upload_gets_a_message_and_the_server_keeps_serving(client, tmp_path):
    x, sr = sf.read(KAL)
    cases = {
        "not audio": (("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100), "photo.png: not a readable audio file"),
        "empty": (("empty.wav", b""), "empty.wav: the file is empty"),
        "silent": (("silence.wav", wav_bytes(np.zeros(16000), 16000)), "silence.wav: audio is silent"),
        "too long": (("long.wav", wav_bytes(np.tile(x, 4), sr)), "long.wav: 12.6 s long; this page takes up to 8 s"),
        "nan": (("nan.wav", wav_bytes(np.full(1600, np.nan), 16000, "FLOAT")), "nan.wav: audio contains NaN"),
    }
    for what, (upload, message) in cases.items():
        r = client.post("/api/convert", data={"model": "vc", "source": "kal", "target": "slt"},
                        files={"file": upload})
        assert r.status_code == 400 and message in r.json()["error"], what
        assert "Traceback" not in r.text and str(tmp_path) not in r.text
    good = ("a.flac", KAL.read_bytes())
    for data, message in [
        ({"model": "vc", "source": "kal", "target": "ked"}, "unknown target speaker 'ked'; this model knows: kal, slt"),
        ({"model": "vc", "source": "kal", "target": "kal"}, "source and target are the same speaker"),
        ({"model": "nope", "source": "kal", "target": "slt"}, "no model 'nope' here"),
        ({"model": "img", "source": "kal", "target": "slt"}, "img is applied by `vcgan translate`, not on this tab"),
        ({"model": "vc", "source": "kal", "target": "slt", "semitones": "40"}, "semitones: a number from -24 to 24"),
        ({"model": "vc", "target": "slt"}, "choose a source"),
    ]:
        r = client.post("/api/convert", data=data, files={"file": good})
        assert r.status_code == 400 and message in r.json()["error"], message
    r = client.post("/api/convert", data={"model": "vc", "source": "kal", "target": "slt"})
    assert r.status_code == 400 and "no file was sent" in r.json()["error"]
    r = client.post("/api/convert", data={"model": "vc", "source": "kal", "target": "slt"},
                    files={"file": ("huge.wav", b"0" * (2 * 2**20))}, headers={"content-length": str(200 * 2**20)})
    assert r.status_code == 413 and "the upload is 200 MB; this page takes files of up to 50 MB" in r.json()["error"]
    # a 48 kHz stereo recording is converted, with a note on what was changed
    stereo = np.stack([np.repeat(x, 3), np.repeat(x, 3) * 0.5], 1)
    r = client.post("/api/convert", data={"model": "vc", "source": "kal", "target": "slt"},
                    files={"file": ("stereo48k.wav", wav_bytes(stereo, 48000))})
    assert r.status_code == 200
    assert r.json()["notes"] == ["mixed down from 2 channels to mono", "resampled from 48000 Hz to the model's 16000 Hz"]
    assert client.get("/no/such/page").json()["error"] == "no page /no/such/page"


def test_a_folder_is_converted_into_a_zip_naming_the_files_it_skipped(client):
    files = [("files", ("one.flac", KAL.read_bytes())), ("files", ("two.flac", KAL.read_bytes())),
             ("files", ("broken.wav", b"RIFF0000WAVEjunk")), ("files", ("notes.txt", b"not audio, not tried"))]
    r = client.post("/api/convert-batch", data={"model": "vc", "source": "kal", "target": "slt"}, files=files)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["converted"] == ["one.wav", "two.wav"] and len(out["skipped"]) == 1
    assert out["skipped"][0].startswith("broken.wav: not a readable audio file")
    z = zipfile.ZipFile(io.BytesIO(client.get(out["download"]).content))
    assert sorted(z.namelist()) == ["one.wav", "two.wav"]
    y, sr = sf.read(io.BytesIO(z.read("one.wav")))
    assert sr == 16000 and len(y) > 16000


def test_postfilter_translate_sample_and_complete_tabs(client, checkpoints, tmp_path):
    from PIL import Image

    out = client.post("/api/postfilter", data={"model": "pf"}, files={"file": ("tts.flac", KAL.read_bytes())}).json()
    y, _ = sf.read(io.BytesIO(client.get(out["after"]).content))
    want = vcgan.load(checkpoints["pf"]).apply(KAL)
    assert np.abs(y - want).max() < 1e-3 and out["log_gv_change"] > 0
    assert client.get(out["gv_plot"]).content[:4] == b"\x89PNG"

    img = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(img).save(png, format="PNG")
    out = client.post("/api/translate", data={"model": "img", "target": "ankle-boot"},
                      files={"file": ("shoe.png", png.getvalue())}).json()
    got = np.asarray(Image.open(io.BytesIO(client.get(out["download"]).content)))
    model = vcgan.load(checkpoints["img"])
    from image_gans.data import to_uint8

    (tmp_path / "shoe.png").write_bytes(png.getvalue())
    want = to_uint8(model.apply(model.read(tmp_path / "shoe.png")[None], "ankle-boot")[0])
    assert got.shape == (28, 28) and np.abs(got.astype(int) - want).max() <= 1
    r = client.post("/api/translate", data={"model": "img", "target": "zebra"}, files={"file": ("s.png", png.getvalue())})
    assert r.status_code == 400 and "zebra" in r.json()["error"]
    r = client.post("/api/translate", data={"model": "img"}, files={"file": ("s.png", b"GIF89a broken")})
    assert r.status_code == 400 and "s.png" in r.json()["error"]

    out = client.post("/api/sample", data={"model": "gen", "n": "6", "seed": "3"}).json()
    grid = np.asarray(Image.open(io.BytesIO(client.get(out["after"]).content)))
    again = np.asarray(Image.open(io.BytesIO(client.get(
        client.post("/api/sample", data={"model": "gen", "n": "6", "seed": "3"}).json()["after"]).content)))
    assert grid.ndim == 3 and np.array_equal(grid, again)  # the same seed, the same images

    mask = np.zeros((28, 28), np.uint8)
    mask[8:18, 6:20] = 255
    mpng = io.BytesIO()
    Image.fromarray(mask).save(mpng, format="PNG")
    out = client.post("/api/complete", data={"model": "fill"}, files={"file": ("shirt.png", png.getvalue()),
                                                                      "mask": ("mask.png", mpng.getvalue())}).json()
    done = np.asarray(Image.open(io.BytesIO(client.get(out["download"]).content)))
    keep = mask == 0
    assert np.array_equal(done[keep], img[keep])  # outside the hole: the input exactly
    r = client.post("/api/complete", data={"model": "fill"}, files={
        "file": ("shirt.png", png.getvalue()), "mask": ("blank.png", _png(np.zeros((28, 28), np.uint8)))})
    assert r.status_code == 400 and "the mask is empty" in r.json()["error"]


def _png(arr) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_only_the_newest_results_are_kept(client):
    app = client.app
    urls = []
    for _ in range(app.state.results.keep + 2):
        out = client.post("/api/sample", data={"model": "gen", "n": "1"}).json()
        urls.append(out["after"])
    assert len(list(app.state.results.root.iterdir())) == app.state.results.keep
    assert client.get(urls[0]).status_code == 404 and "kept for the last 5" in client.get(urls[0]).json()["error"]
    assert client.get(urls[-1]).status_code == 200
    assert client.get("/results/../../etc/passwd").status_code == 404


def test_ui_refuses_a_bad_checkpoint_before_serving(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    assert run(["ui", "--checkpoint", bad, "--port", "1"]) == 2
    assert f"{bad}: not a readable vcgan checkpoint" in capsys.readouterr().err


# ---------------------------------------------------------------- a real browser
def _browser():
    """Selenium driving Debian's chromium (where it is missing: conftest.need_programs)."""
    from conftest import need_programs
    from selenium import webdriver  # in the test extra

    chromium, driver = need_programs(("chromium", "chromium-browser"), "chromedriver",
                                     packages="chromium chromium-driver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,1100", "--autoplay-policy=no-user-gesture-required",
                 # a microphone that plays a test tone, granted without asking
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=opts)


def _serve(app) -> tuple[str, object]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def test_in_a_headless_browser_upload_convert_and_play(checkpoints, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser = _browser()
    shots = Path(os.environ.get("VCGAN_UI_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    app = create_app(checkpoints=[checkpoints["vc"]], results_root=tmp_path / "results")
    url, server = _serve(app)
    model = "stargan-vc2-kal-ked-slt" if "stargan-vc2-kal-ked-slt" in vcgan.pretrained.names() else "vc"
    try:
        browser.get(url)
        wait = WebDriverWait(browser, 60)
        wait.until(lambda b: b.find_element(By.ID, "vc-model").get_attribute("value"))
        Select(browser.find_element(By.ID, "vc-model")).select_by_value(model)
        Select(browser.find_element(By.ID, "vc-source")).select_by_value("kal")
        Select(browser.find_element(By.ID, "vc-target")).select_by_value("slt")
        browser.find_element(By.ID, "vc-file").send_keys(str(KAL))
        browser.find_element(By.ID, "vc-go").click()
        wait.until(lambda b: b.execute_script("const a = document.getElementById('vc-after');"
                                              "return a.src && a.readyState >= 1 && a.duration > 0;"))
        duration = browser.execute_script("return document.getElementById('vc-after').duration")
        assert duration == pytest.approx(3.16, abs=0.05)
        assert not browser.find_element(By.ID, "vc-result").get_attribute("hidden")
        assert "took" in browser.find_element(By.ID, "vc-time").text
        browser.find_element(By.ID, "vc-file").clear()
        bad = tmp_path / "notes.wav"
        bad.write_text("not audio")
        browser.find_element(By.ID, "vc-file").send_keys(str(bad))
        browser.find_element(By.ID, "vc-go").click()
        wait.until(lambda b: "not a readable audio file" in b.find_element(By.ID, "vc-message").text)
        assert "notes.wav" in browser.find_element(By.ID, "vc-message").text
        browser.find_element(By.ID, "vc-file").clear()
        browser.find_element(By.ID, "vc-file").send_keys(str(KAL))
        browser.find_element(By.ID, "vc-go").click()
        wait.until(lambda b: b.find_element(By.ID, "vc-message").text == "" and
                   b.execute_script("return document.getElementById('vc-after').readyState >= 1"))
        browser.save_screenshot(str(shots / "ui_voice_conversion.png"))
        assert (shots / "ui_voice_conversion.png").stat().st_size > 10000
        # record from the (fake) microphone, then convert the recording
        first = browser.execute_script("return document.getElementById('vc-after').src")
        browser.find_element(By.ID, "vc-record").click()
        wait.until(lambda b: b.find_element(By.ID, "vc-record-status").text == "recording...")
        time.sleep(2.0)
        browser.find_element(By.ID, "vc-record").click()
        wait.until(lambda b: b.find_element(By.ID, "vc-record-status").text.startswith("recorded"))
        browser.find_element(By.ID, "vc-go").click()
        wait.until(lambda b: b.execute_script("const a = document.getElementById('vc-after');"
                                              f"return a.src !== '{first}' && a.readyState >= 1;"))
        assert "recording_kal_to_slt.wav" in browser.execute_script("return document.getElementById('vc-after').src")
        assert browser.execute_script("return document.getElementById('vc-after').duration") > 1.0
    finally:
        browser.quit()
        server.should_exit = True
