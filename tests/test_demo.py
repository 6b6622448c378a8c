"""The Gradio demo in a real browser (Playwright driving Debian's Chromium) and through gradio_client."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.slow  # starts the app and a browser (about a minute)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app():
    port = free_port()
    began = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/"
    while time.time() - began < 120:
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read())
            time.sleep(0.25)
    startup = time.time() - began
    yield url, startup
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def separator():
    from separation import Separator

    return Separator.from_pretrained()


READ_PLAYER = """async (audio) => {
    const bytes = new Uint8Array(await (await fetch(audio.src)).arrayBuffer());
    const decoded = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(bytes.slice().buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return [btoa(text), decoded.duration];
}"""


def player_audio(page, elem_id: str, tmp: Path) -> tuple[np.ndarray, int, float]:
    """What the page's player for ``elem_id`` holds: the file it was served (decoded here) and its
    duration as the browser itself decodes it."""
    import base64

    audio = page.locator(f"#{elem_id} [data-testid^='waveform'] audio")
    audio.wait_for(state="attached", timeout=60_000)
    encoded, browser_seconds = audio.evaluate(READ_PLAYER)
    path = tmp / f"{elem_id}-{time.time_ns()}.wav"
    path.write_bytes(base64.b64decode(encoded))
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return data.T, rate, browser_seconds


def example_row(name: str) -> dict:
    return next(json.loads(line) for line in (EXAMPLES / "manifest.jsonl").read_text().splitlines()
                if json.loads(line)["id"] == name)


def choose_example(page, label: str) -> None:
    box = page.get_by_label("…or a shipped example")
    box.click()
    page.get_by_role("option", name=label).click()


def test_the_app_in_a_browser(app, separator, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from soundsift.io import load_audio

    url, startup = app
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(url)
        # a text prompt on an audio example
        choose_example(page, "test-000001: piano, telephone ring, female speech")
        page.get_by_label("What to take out", exact=False).fill("a woman speaking")
        began = time.time()
        page.locator("#separate").click()
        served, rate, browser_seconds = player_audio(page, "target-0", tmp_path)
        answered = time.time() - began
        mix, mix_rate = load_audio(EXAMPLES / "test" / "test-000001" / "mixture.flac")
        assert rate == mix_rate and served.shape == tuple(mix.shape)  # the input's duration and channels
        assert abs(browser_seconds - mix.shape[-1] / mix_rate) < 0.01  # and the browser plays all of it
        want = separator.separate(mix, mix_rate, text="a woman speaking").targets[0].numpy()
        np.testing.assert_allclose(served, want, atol=1e-5)
        expect(page.locator("#status")).to_contain_text("a woman speaking")
        page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
        if os.environ.get("SOUNDSIFT_UPDATE_SCREENSHOT"):
            shutil.copy(tmp_path / "demo.png", ROOT / "docs" / "demo.png")

        # a click on an object of a video example
        choose_example(page, "test-000003 (video): bass guitar, violin, bird song")
        page.get_by_label("What to take out", exact=False).fill("")
        page.get_by_role("tab", name="Click").click()
        frame = page.locator("#click-frame img")
        frame.wait_for(state="visible", timeout=30_000)
        row = example_row("test-000003")
        source = next(s for s in row["sources"] if s["boxes"] is not None)
        x0, y0, x1, y1 = source["boxes"][0]
        box = frame.bounding_box()
        natural = page.evaluate("img => [img.naturalWidth, img.naturalHeight]", frame.element_handle())
        size = row["video_size"]  # [H, W] of the scene video
        fx, fy = (x0 + x1) / 2 * natural[0] / size[1], (y0 + y1) / 2 * natural[1] / size[0]
        before_src, before = frame.get_attribute("src"), _image_at(page, frame)
        frame.click(position={"x": fx * box["width"] / natural[0], "y": fy * box["height"] / natural[1]})
        clicks = page.get_by_label("Clicks (T:X:Y in video pixels, one stem each)")
        expect(clicks).not_to_have_value("", timeout=20_000)
        t, x, y = (float(v) for v in clicks.input_value().splitlines()[0].split(":"))
        assert abs(x - (x0 + x1) / 2) <= 3 and abs(y - (y0 + y1) / 2) <= 3
        # the clicked object's tracked box is drawn around it: what changed on the frame is a box about it
        expect(frame).not_to_have_attribute("src", before_src, timeout=20_000)
        changed = np.abs(_image_at(page, frame).astype(int) - before.astype(int)).max(-1) > 60
        ys, xs = np.nonzero(changed)
        assert changed.sum() > 100 and abs((xs.min() + xs.max()) / 2 - fx) < 12 and abs((ys.min() + ys.max()) / 2 - fy) < 12
        player = page.locator("#target-0 [data-testid^='waveform'] audio")
        before_audio = player.get_attribute("src")
        page.locator("#separate").click()
        # the new stem, not the last one: a click's progress ("tracking the click") shows on the output first
        expect(player).not_to_have_attribute("src", before_audio, timeout=120_000)
        expect(page.locator("#target-0")).to_contain_text("click", timeout=60_000)
        served, rate, _ = player_audio(page, "target-0", tmp_path)
        scene = EXAMPLES / "test" / "test-000003" / "scene.mp4"
        mix, mix_rate = load_audio(scene)  # the video's own (AAC) soundtrack is what the app separates
        want = separator.separate(mix, mix_rate, video=scene, click=(t, x, y)).targets[0].numpy()
        np.testing.assert_allclose(served, want, atol=1e-4)

        # a corrupt upload: one clear message
        bad = tmp_path / "broken.wav"
        bad.write_bytes(b"RIFF this is not audio")
        page.locator("input[type=file]").first.set_input_files(str(bad))
        page.get_by_role("tab", name="Text").click()
        page.get_by_label("What to take out", exact=False).fill("a violin")
        page.locator("#separate").click()
        expect(page.get_by_text("not a readable audio file").first).to_be_visible(timeout=30_000)
        assert "Traceback" not in page.content()
        browser.close()
    assert startup <= 60  # the target (15 s) is measured alone by the bench; here the machine is shared
    assert answered <= 60


def _image_at(page, img) -> np.ndarray:
    """The picture an <img> shows, as RGB [H, W, 3], fetched as the browser fetched it."""
    import base64
    import io

    from PIL import Image

    src = img.get_attribute("src")
    data = base64.b64decode(src.split(",", 1)[1]) if src.startswith("data:") else page.request.get(src).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_api_answers_through_gradio_client(app, separator):
    from gradio_client import Client, handle_file

    from soundsift.io import load_audio

    url, _ = app
    client = Client(url, verbose=False)
    example = EXAMPLES / "test" / "test-000000" / "mixture.flac"
    out = client.predict(handle_file(str(example)), None, "applause\na marimba", None, "+0.5:3", "", 1, False,
                         api_name="/separate")
    value = lambda x: x["value"] if isinstance(x, dict) else x  # noqa: E731 (updates come as dicts)
    status, figure, span_figure, *targets = [value(x) for x in out[:7]]
    assert "applause" in status and "a marimba" in status and Path(figure).is_file() and Path(span_figure).is_file()
    mix, rate = load_audio(example)
    want = separator.separate(mix, rate, text=["applause", "a marimba"], spans=[("+", 0.5, 3.0)])
    for i in range(2):
        got = sf.read(targets[i], dtype="float32", always_2d=True)[0].T
        np.testing.assert_allclose(got, want.targets[i].numpy(), atol=1e-5)
    with pytest.raises(Exception, match="give a recording or a video"):
        client.predict(None, None, "a violin", None, "", "", 1, False, api_name="/separate")


def test_the_status_names_a_unions_parts_what_a_wording_reads_as_and_the_prompt_for_either_sex(separator):
    from demo.app import Engine

    engine = Engine(separator=separator)
    piano = str(EXAMPLES / "test" / "test-000001" / "s0-piano.flac")
    out = engine.separate(piano, None, "a woman speaking\npeople talking\ndrums", None, "", "", progress=False)
    woman, people, drums = out["status"].split("\n\n")
    assert "does not seem to be in the input; for a voice of either sex ask for 'speech'" in woman
    assert "(one stem of 'a man speaking', 'a woman speaking')" in people and "either sex" not in people
    assert "read as" not in woman + people and "'drums' is read as 'a drum kit'" in drums  # a wording it does not know


def test_the_box_drawn_for_a_click_is_the_track_the_separation_reads(separator, tmp_path):
    from demo.app import Engine

    looped = tmp_path / "looped.mp4"  # the example scene three times over: 18.6 s
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "2", "-i", str(EXAMPLES / "test" / "test-000001" / "scene.mp4"),
                    "-c", "copy", str(looped)], check=True)
    engine = Engine(separator=separator)
    click = (2.0, 112.0, 112.0)
    track = engine.click_track(looped, click)
    assert engine.click_track(looped, click) is track  # kept for the time slider
    # the separation of that click finds the same track in the separator's cache, not a new one
    from soundsift.io import AudioFile

    source = AudioFile(looped)
    assert separator.click_track(looped, click, source.scan().frames / source.sample_rate) is track
    # and it reaches as far as the separation reads (30 s either side: the whole 18.6 s here)
    assert track.box_at(0.0) is not None and track.box_at(18.0) is not None
