"""The Gradio app: a recording or a video, a prompt (text, a click on the picture, an example sound,
spans), and the separated sound to hear and see.

    soundsift demo [--host 127.0.0.1] [--port 7860] [--share]      or      python -m demo

It runs the shipped models offline. Only uploaded files and the shipped examples are read; each
request works in its own temporary folder, removed once its files have been handed to the page.
"""

# No "from __future__ import annotations": Gradio reads gr.SelectData off the handlers' annotations.

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from soundsift.errors import SoundSiftError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "test"
MAX_STEMS = 4            # prompts per request (one stem each)
MAX_SECONDS = 600.0      # longest input, seconds (soundsift demo --max-seconds)
MAX_UPLOAD_MB = 200      # largest upload (soundsift demo --max-upload-mb)
KEEP_SECONDS = 1800      # request folders and Gradio's copies older than this are removed


def example_choices() -> dict[str, Path]:
    """Shipped examples by a readable name: what sounds in them, and whether they have a picture."""
    out = {}
    manifest = EXAMPLES.parent / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()] if manifest.exists() else []
    for row in rows:
        labels = ", ".join(s["label"] for s in row["sources"])
        if row.get("video"):
            out[f"{row['id']} (video): {labels}"] = EXAMPLES.parent / row["video"]
        out[f"{row['id']}: {labels}"] = EXAMPLES.parent / row["mixture"]
    return out


@dataclass
class Limits:
    max_seconds: float = MAX_SECONDS
    max_upload_mb: int = MAX_UPLOAD_MB


class Engine:
    """The models, loaded once, and what one request does with them."""

    def __init__(self, separator=None, judge=None, limits: Limits | None = None):
        from separation import Separator

        self.separator = separator or Separator.from_pretrained()
        if judge is None:
            from judge.api import DEFAULT_DIR

            if (DEFAULT_DIR / "config.json").exists():
                from judge import Judge

                judge = Judge.from_pretrained(separator=self.separator)
        self.judge = judge
        self.limits = limits or Limits()
        self.root = Path(tempfile.mkdtemp(prefix="soundsift-demo-"))
        self.examples = example_choices()
        self._tracks = {}

    def click_track(self, path: Path, click: tuple[float, float, float]):
        """The clicked object followed through the video: the separator's own track, as far either
        side of the click as its separation reads (kept: the frame under the time slider shows where
        the box is at that time, and the separation of that click reuses it)."""
        from soundsift.io import AudioFile

        key = (str(path), path.stat().st_mtime_ns, click)
        if key not in self._tracks:
            if len(self._tracks) > 64:
                self._tracks.clear()
            source = AudioFile(path)
            seconds = source.scan().frames / source.sample_rate  # as separate_stream measures the input
            self._tracks[key] = self.separator.click_track(path, click, seconds)
        return self._tracks[key]

    def input_path(self, upload, example) -> Path:
        """The file to work on: an upload, or a shipped example by name; nothing else is read."""
        if upload:
            path = Path(upload if isinstance(upload, str) else upload.name)
            if path.stat().st_size > self.limits.max_upload_mb * 2**20:
                raise SoundSiftError(f"the file is larger than {self.limits.max_upload_mb} MB")
            return path
        if example:
            if example not in self.examples:
                raise SoundSiftError(f"no example called {example!r}")
            return self.examples[example]
        raise SoundSiftError("give a recording or a video, or pick an example")

    def _request_dir(self) -> Path:
        now = time.time()
        for old in self.root.iterdir():  # earlier requests' folders, long since handed to the page
            if old.is_dir() and now - old.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix="request-", dir=self.root))

    def separate(self, upload, example, texts: str, audio_example, spans: str, clicks: str, candidates: int = 1,
                 score: bool = False, progress: bool = True) -> dict:
        """One request: returns the files and figures to show, all inside a fresh request folder."""
        from demo.media import spectrograms, waveform_with_spans, with_soundtrack, zip_folder
        from separation.prompts import build_prompts, names_a_voice_by_sex, parse_click, parse_span
        from separation.stems import write_stems
        from soundsift.io import AudioFile, load_audio, probe

        path = self.input_path(upload, example)
        source = AudioFile(path)
        stats = source.scan()
        seconds = stats.frames / source.sample_rate
        if seconds > self.limits.max_seconds:
            raise SoundSiftError(f"the input is {seconds / 60:.1f} min long; this demo takes up to "
                                 f"{self.limits.max_seconds / 60:g} min")
        text_list = [t.strip() for t in (texts or "").splitlines() if t.strip()]
        span_list = [parse_span(s.strip()) for s in (spans or "").replace(",", "\n").splitlines() if s.strip()]
        click_list = [parse_click(c.strip()) for c in (clicks or "").splitlines() if c.strip()]
        query = AudioFile(audio_example) if audio_example else None
        prompts = build_prompts(text_list or None, query, click_list or None, span_list)
        if len(prompts) > MAX_STEMS:
            raise SoundSiftError(f"at most {MAX_STEMS} prompts at once here ({len(prompts)} given)")
        is_video = probe(path)["video"] is not None if path.suffix.lower() not in (".wav", ".flac", ".ogg") else False
        if click_list and not is_video:
            raise SoundSiftError("a click needs a video input")
        judge = self.judge if (int(candidates) > 1 or score) else None
        if judge is None and int(candidates) > 1:
            raise SoundSiftError("best-of-k needs a judge model, and none is installed")
        prompts = self.separator.prepare(prompts)  # texts embedded once, for the separation and the reading notes
        result = self.separator.separate_stream(source, prompts=prompts, spans=span_list or None,
                                                video=path if click_list else None, progress=progress,
                                                candidates=int(candidates), judge=judge)
        work = self._request_dir()
        track = work / "stems"
        extra = None
        if judge is not None:
            extra = {"scores.json": {name: {"prompt": p, **s.as_dict(), "failed": judge.failed(s), "kept": c}
                                     for name, p, s, c in zip(result.names, result.prompts, result.scores,
                                                              result.choices)}}
        written = write_stems(track, result, extra=extra)
        mono = {p.stem: load_audio(p, mono=True)[0][0] for p in written.paths}
        mix_mono = sum(mono.values())  # the stems add up to the input
        rows = [("mixture", mix_mono)] + [(f"target: {prompt}", mono[name]) for name, prompt in
                                          zip(result.names, result.prompts)] + [("residual", mono["residual"])]
        figure = spectrograms(rows, source.sample_rate, work / "spectrograms.png")
        span_figure = waveform_with_spans(mix_mono, source.sample_rate, span_list, work / "spans.png") if span_list else None
        videos = {}
        if is_video:
            for p in written.paths:
                videos[p.stem] = with_soundtrack(path, p, work / f"{p.stem}.mp4")
        lines = []
        for i, (name, prompt) in enumerate(zip(result.names, result.prompts)):
            line = f"**{i + 1}. {prompt}** — presence {result.presence[i]:.2f}" if result.presence else f"**{prompt}**"
            if prompts[i].parts:
                line += " (one stem of " + ", ".join(f"'{t}'" for t in prompts[i].parts) + ")"
            line += "".join(f" — {n}" for n in self.separator.reading_notes([prompts[i]]))
            if result.scores:
                s = result.scores[i].as_dict()
                line += (f"; judge: overall {s['overall']:.2f}, recall {s['recall']:.2f}, precision {s['precision']:.2f}, "
                         f"faithfulness {s['faithfulness']:.2f}" + (f" (kept: {result.choices[i]})" if candidates > 1 else ""))
            reading = result.readings[i] if result.readings else None
            if reading == "silence":
                line += " — read by its timing: no sound moves with this object, so its stem is silent"
            elif reading:
                line += f" — read by its timing as '{reading}' (the sound that moves with the object)"
            if result.presence and result.presence[i] < 0.5:
                line += " — this sound does not seem to be in the input"
                if names_a_voice_by_sex(prompt):
                    line += "; for a voice of either sex ask for 'speech'"
            lines.append(line)
        return {"status": "\n\n".join(lines), "spectrograms": str(figure), "spans": str(span_figure) if span_figure else None,
                "targets": [(prompt, str(p)) for prompt, p in zip(result.prompts, written.paths[:-1])],
                "residual": str(written.paths[-1]), "videos": [str(videos[p.stem]) for p in written.paths[:-1]] if videos else [],
                "residual_video": str(videos["residual"]) if videos else None,
                "zip": str(zip_folder(track, work / "stems.zip")), "seconds": seconds}


def build_app(engine: Engine):
    import gradio as gr

    from demo.media import draw_boxes, frame_at

    def run(upload, example, texts, audio_example, spans, clicks, candidates, score, progress=gr.Progress(track_tqdm=True)):
        try:
            out = engine.separate(upload, example, texts, audio_example, spans, clicks, candidates, score)
        except SoundSiftError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except OSError as err:
            raise gr.Error(f"{err.strerror or err}", print_exception=False) from None
        updates = [out["status"], out["spectrograms"], gr.Image(value=out["spans"], visible=bool(out["spans"]))]
        for i in range(MAX_STEMS):
            if i < len(out["targets"]):
                prompt, path = out["targets"][i]
                updates.append(gr.Audio(value=path, label=f"target {i + 1}: {prompt}", visible=True))
            else:
                updates.append(gr.Audio(value=None, visible=False))
        updates.append(out["residual"])
        for i in range(MAX_STEMS):
            has = i < len(out["videos"])
            updates.append(gr.Video(value=out["videos"][i] if has else None, visible=has))
        updates.append(gr.Video(value=out["residual_video"], visible=bool(out["residual_video"])))
        updates.append(out["zip"])
        return updates

    def show_frame(upload, example, seconds, clicks):
        """The video's frame at the slider's time, with the tracked boxes of the clicks made so far."""
        try:
            path = engine.input_path(upload, example)
            frame, (width, height) = frame_at(path, float(seconds))
            return draw_boxes(frame, _boxes(path, clicks, float(seconds), frame, width, height))
        except SoundSiftError:
            return None

    def _boxes(path, clicks, seconds, frame, width, height):
        """Each click's object box at ``seconds`` in the frame's pixels (None where it is not tracked)."""
        sx, sy = frame.shape[1] / width, frame.shape[0] / height
        boxes = []
        for line in (clicks or "").splitlines():
            try:
                click = tuple(float(v) for v in line.split(":"))
                box = engine.click_track(path, click).box_at(seconds) if len(click) == 3 else None
            except (ValueError, SoundSiftError):
                box = None
            boxes.append(None if box is None else (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy))
        return boxes

    def add_click(upload, example, seconds, clicks, evt: gr.SelectData):
        """A click on the frame: the object there, at the slider's time, becomes one more prompt."""
        path = engine.input_path(upload, example)
        frame, (width, height) = frame_at(path, float(seconds))
        x, y = evt.index[0] * width / frame.shape[1], evt.index[1] * height / frame.shape[0]
        clicks = ((clicks or "").rstrip("\n") + "\n" if clicks else "") + f"{float(seconds):g}:{x:.0f}:{y:.0f}"
        return clicks, draw_boxes(frame, _boxes(path, clicks, float(seconds), frame, width, height))

    def on_input(upload, example):
        """Preview the chosen input; for a video, the click tab's slider spans it."""
        try:
            path = engine.input_path(upload, example)
            from soundsift.io import probe

            info = probe(path)
        except (SoundSiftError, OSError):
            return gr.Audio(value=None), gr.Slider(maximum=1, value=0), None, ""
        duration = info["duration"] if info["duration"] == info["duration"] else 1.0
        frame = None
        if info["video"] is not None:
            frame = draw_boxes(frame_at(path, 0.0)[0], [])
        return gr.Audio(value=str(path)), gr.Slider(maximum=max(round(duration, 2), 0.1), value=0), frame, ""

    with gr.Blocks(title="SoundSift", delete_cache=(600, KEEP_SECONDS)) as app:
        gr.Markdown("# SoundSift\nGive a recording or a video and say what to take out of it: type what it is, "
                    "click it in the video, give an example sound, or mark when it sounds. You get the sound "
                    "you asked for (target) and everything else (residual).")
        with gr.Row():
            with gr.Column():
                upload = gr.File(label="Recording or video", file_types=["audio", "video"], type="filepath")
                example = gr.Dropdown(choices=list(engine.examples), value=None, label="…or a shipped example")
                preview = gr.Audio(label="Input", interactive=False)
            with gr.Column():
                with gr.Tabs():
                    with gr.Tab("Text"):
                        texts = gr.Textbox(label="What to take out (one per line, one stem each; 'A | B': both in one stem)",
                                           placeholder="a woman speaking\na piano", lines=3)
                    with gr.Tab("Click"):
                        seconds = gr.Slider(0, 1, value=0, step=0.1, label="Time in the video (s)")
                        frame = gr.Image(label="Click the object", interactive=False, elem_id="click-frame")
                        clicks = gr.Textbox(label="Clicks (T:X:Y in video pixels, one stem each)", lines=2)
                    with gr.Tab("Example sound"):
                        audio_example = gr.Audio(label="A sound like the one to take out", type="filepath",
                                                 sources=["upload", "microphone"])
                    with gr.Tab("Spans"):
                        spans = gr.Textbox(label="Where it sounds (+) or not (−), seconds",
                                           placeholder="+1.0:3.5, -4:6")
                with gr.Row():
                    candidates = gr.Slider(1, 8, value=1, step=1, label="Best of k (the judge keeps the best)",
                                           visible=engine.judge is not None)
                    score = gr.Checkbox(label="Score with the judge", visible=engine.judge is not None)
                go = gr.Button("Separate", variant="primary", elem_id="separate")
        status = gr.Markdown(elem_id="status", label="result")
        span_view = gr.Image(label="Spans over the waveform", visible=False, interactive=False)
        figure = gr.Image(label="Spectrograms (one time axis, one dB scale)", interactive=False)
        with gr.Row():
            targets = [gr.Audio(label=f"target {i + 1}", visible=False, interactive=False, elem_id=f"target-{i}")
                       for i in range(MAX_STEMS)]
            residual = gr.Audio(label="residual", interactive=False, elem_id="residual")
        with gr.Row():
            target_videos = [gr.Video(label=f"video with target {i + 1}", visible=False, interactive=False)
                             for i in range(MAX_STEMS)]
            residual_video = gr.Video(label="video with the residual", visible=False, interactive=False)
        download = gr.File(label="All stems (zip)", interactive=False)

        for source in (upload, example):  # page helpers, not API endpoints
            source.change(on_input, [upload, example], [preview, seconds, frame, clicks], api_visibility="private")
        seconds.release(show_frame, [upload, example, seconds, clicks], frame, api_visibility="private")
        frame.select(add_click, [upload, example, seconds, clicks], [clicks, frame], api_visibility="private")
        go.click(run, [upload, example, texts, audio_example, spans, clicks, candidates, score],
                 [status, figure, span_view, *targets, residual, *target_videos, residual_video, download],
                 api_name="separate", concurrency_limit=1)
    app.queue(default_concurrency_limit=1)
    return app


def launch(host: str = "127.0.0.1", port: int = 7860, share: bool = False, limits: Limits | None = None,
           block: bool = True):
    """Start the app on the shipped models (offline: no model is fetched)."""
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    limits = limits or Limits()
    engine = Engine(limits=limits)
    app = build_app(engine)
    app.launch(server_name=host, server_port=port, share=share, max_file_size=f"{limits.max_upload_mb}mb",
               allowed_paths=[str(EXAMPLES)], show_error=True, prevent_thread_lock=not block, quiet=True)
    return app, engine


def cleanup(engine: Engine) -> None:
    shutil.rmtree(engine.root, ignore_errors=True)



def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also make a public Gradio share link (needs the internet)")
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS, help="longest input accepted (default 600 s)")
    parser.add_argument("--max-upload-mb", type=int, default=MAX_UPLOAD_MB, help="largest upload accepted (default 200 MB)")


def serve(args) -> None:
    """Run until interrupted (``soundsift demo`` and ``python -m demo``)."""
    if args.share:
        print("note: --share makes a public link through Gradio's servers")
    app, engine = launch(args.host, args.port, args.share, Limits(args.max_seconds, args.max_upload_mb), block=False)
    print(f"SoundSift demo on http://{args.host}:{args.port} (Ctrl+C stops it)", flush=True)
    try:
        app.block_thread()
    finally:
        cleanup(engine)
