"""Configuration of the SoundSift separator (saved as ``config.json`` in a ``from_pretrained`` folder)."""

from __future__ import annotations

from dataclasses import dataclass, field

from soundsift.config import JsonConfig


@dataclass
class SeparatorConfig(JsonConfig):
    model_type: str = "soundsift_separator"
    sample_rate: int = 16000
    n_fft: int = 1024
    hop: int = 256
    query_dim: int = 256
    channels: int = 256
    hidden: int = 384
    dilations: list = field(default_factory=lambda: [1, 2, 4, 8, 16, 1, 2, 4, 8, 16])
    encoder: str = "peav-small"  # which encoder's space the queries live in
    presence_gate: bool = False  # a head that predicts "target absent" and scales the mask down
    refine_channels: int = 0  # > 0: a small 2-D conv net refines the mask bin by bin (MaskRefiner)
    # The gate is sigmoid(sharpness x presence logit): > 1 pushes it toward 0 or 1 around the same 0.5
    # point, so absent prompts come out quieter and present ones louder (chosen on validation; 1 in training).
    presence_sharpness: float = 1.0
    # Inference: segments of this length with 25 % overlap (3, 4 and 8 s measured alike on validation).
    segment_seconds: float = 8.0
    # Descriptions of the sounds the separator was trained on: a click's video embedding is read
    # through them (see Separator.video_query), since video queries never entered training.
    click_vocabulary: list = field(default_factory=list)
    # Click prompts, all chosen on validation (docs/SEPARATION.md): the box side as a share of the
    # frame's shorter side, held still over the window of video around the click (a longer window lets
    # the object drift out of it unless the box is tracked); ``click_track``: the box is the clicked
    # object's outline on its frame, followed through the window (separation/track.py); the softmax
    # temperature over the box's similarity to the vocabulary;
    # weight x log(presence) of a class in the context of mixture around the click, added to the
    # ``click_candidates`` classes the box looks most like (more candidates pull clicks on silent
    # objects onto whatever sounds; 0 turns the weighting off).
    click_box_fraction: float = 0.25
    click_track: bool = False
    click_window_seconds: float = 1.0
    click_temperature: float = 0.1
    click_presence_weight: float = 2.0
    click_context_seconds: float = 8.0
    click_candidates: int = 2
    # A click whose box is no more like any vocabulary description than this (cosine) is on something
    # that makes no sound (a teapot, a road sign): its target is silence. 0: every click is read.
    click_silent_below: float = 0.0
    # > 0: the net also reads a clicked object's timing, the encoder's per-frame sync sequence of its
    # crop (separation/visual.py), this many values a frame; 0: clicks are read through the vocabulary only.
    visual_dim: int = 0
    visual_film: bool = False  # the timing also modulates every block frame by frame (FiLM), not only the input
    # A click's object is tracked and its timing read only this many seconds either side of the click
    # (the rest of the input reads no timing), so a click on a long video costs about what one on a short
    # clip does, and a box tracker's drift far from the click is not read (docs/SEPARATION.md, "Cost");
    # None: through the whole video.
    click_timing_seconds: float | None = 30.0
    # What a click's query is when the net reads timing: "vocabulary" (the box read through
    # ``click_vocabulary``, as without timing), "video" (the box's own video embedding, as trained with it)
    # or "none" (timing alone).
    click_query: str = "vocabulary"
    # A click's presence gate is sigmoid(presence_sharpness x (logit - this)): clicks on silent objects
    # come out with presence logits near those of sounding ones, so their gate needs a higher bar
    # (chosen on validation scenes by recipes/separation/click_gate.py). 0: as for other prompts.
    click_presence_bias: float = 0.0
    # A click whose box the net has not learnt to read (its reading through ``click_vocabulary`` no
    # surer than ``click_pick_below``, softmax at ``click_temperature``: drawn in a style it never saw)
    # becomes the description whose sound moves with the object's picture: every description is
    # separated from ``click_pick_seconds`` of mixture around the click, and among those present
    # (presence > ``click_pick_presence``) the one whose output's sync correlation with the object's
    # timing plus ``click_pick_weight`` x log(presence) is highest is the query (separation/visual.py,
    # chosen on validation scenes by recipes/separation/timing_pick.py). 0: every click reads its box.
    # A click so read whose best sound's correlation is below ``click_pick_min_sync`` is on something
    # that sounds like nothing in the mixture: its target is silence (None: never).
    click_pick_below: float = 0.0
    click_pick_presence: float = 0.5
    click_pick_weight: float = 0.4
    click_pick_seconds: float = 6.0
    click_pick_min_sync: float | None = None
    # A clicked object that swells as its sound gets louder says when it sounds (two objects of one
    # class look alike and sound alike: only this tells them apart). Its expected level is
    # ``click_size_db`` x (side / its largest side - 1) dB, no lower than ``click_size_floor_db``, from
    # the tracked boxes (separation/track.py); where the click's output is louder than that, frame by
    # frame by more than ``click_size_margin_db``, it is turned down to that (separation/apply.py,
    # ``pulse_gains``), its scale set by the ``click_size_quantile`` of (output level - expected level)
    # over frames where the object is large. Only where the output's level correlates with the expected
    # one by at least ``click_size_min_corr`` over a segment (the picture pulses with the sound; a camera's zoom does
    # not). Chosen on validation scenes by recipes/separation/pulse_gate.py. 0: off.
    click_size_db: float = 0.0
    click_size_floor_db: float = -40.0
    click_size_quantile: float = 0.2
    click_size_min_corr: float = 0.3
    click_size_margin_db: float = 0.0
    click_size_quiet_db: float = 0.0  # only frames where the object is this far below its loudest are turned down
    # Where the weights come from: recipe stage, parent model, data, encoder, git commit (set by export).
    lineage: dict = field(default_factory=dict)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @classmethod
    def tiny(cls) -> "SeparatorConfig":
        return cls(query_dim=64, channels=32, hidden=48, dilations=[1, 2, 4], n_fft=256, hop=64, presence_gate=True)
