"""The Lightning recipes on the tiny corpus: a few steps, resume from the last checkpoint, export."""

import dataclasses

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from encoders import PEAVConfig, PEAVEncoder
from recipes.encoders.data import EncoderDataModule
from recipes.encoders.export import export as export_encoder
from recipes.encoders.module import EncoderModule
from recipes.separation.data import SeparationDataModule
from recipes.separation.export import export as export_separator
from recipes.separation.module import SeparationModule
from separation.losses import separation_loss
from separation import Separator


class StopAt(L.Callback):
    """Stands in for an interrupted run: training stops early, as if the process were killed."""

    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step >= self.step:
            trainer.should_stop = True


def trainer(tmp_path, steps, stop_at=None):
    callbacks = [ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, every_n_train_steps=1)]
    if stop_at:
        callbacks.append(StopAt(stop_at))
    return L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_progress_bar=False,
                     enable_model_summary=False, callbacks=callbacks, limit_val_batches=1, num_sanity_val_steps=0,
                     default_root_dir=tmp_path)


def overfit(module, batch, loss_fn, steps=12, lr=3e-3):
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture(scope="module")
def tiny_encoder_dir(tiny_corpus, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("enc")
    torch.manual_seed(0)
    data = EncoderDataModule(str(tiny_corpus), batch_size=8, num_workers=0)
    module = EncoderModule(tiny=True)
    first = trainer(tmp, 4, stop_at=2)
    first.fit(module, data)
    assert first.global_step == 2
    resumed = trainer(tmp, 4)
    resumed.fit(EncoderModule(tiny=True), data, ckpt_path=str(tmp / "ckpt" / "last.ckpt"))
    assert resumed.global_step == 4  # continued from step 2, not from scratch
    export_encoder(str(tmp / "ckpt" / "last.ckpt"), str(tmp / "exported"))
    return tmp / "exported"


def test_encoder_recipe_trains_resumes_and_exports(tiny_encoder_dir, tiny_corpus):
    enc = PEAVEncoder.from_pretrained(tiny_encoder_dir)
    assert enc.embed_text(["a violin"]).shape == (1, 64)
    data = EncoderDataModule(str(tiny_corpus), batch_size=12, num_workers=0)
    data.setup()
    batch = next(iter(data.train_dataloader()))
    torch.manual_seed(0)
    module = EncoderModule(tiny=True)
    losses = overfit(module, batch, lambda b: sum(module.losses(b).values()))
    assert losses[-1] < 0.7 * losses[0]


def test_separator_recipe_trains_resumes_and_exports(tiny_encoder_dir, tiny_corpus, tmp_path):
    data = SeparationDataModule(str(tiny_corpus), encoder=str(tiny_encoder_dir), batch_size=4, crop_seconds=1.0,
                                num_workers=0)
    torch.manual_seed(0)
    trainer(tmp_path, 3, stop_at=2).fit(SeparationModule(tiny=True), data)
    resumed = trainer(tmp_path, 3)
    resumed.fit(SeparationModule(tiny=True), data, ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    assert resumed.global_step == 3
    export_separator(str(tmp_path / "ckpt" / "last.ckpt"), str(tmp_path / "sep"))
    sep = Separator.from_pretrained(tmp_path / "sep", encoder=PEAVEncoder.from_pretrained(tiny_encoder_dir))
    wave = data.train_set[0]["mixture"][None]
    res = sep.separate(wave, 16000, text="a violin")
    assert torch.allclose(res.targets[0] + res.residual, wave, atol=1e-5)
    # the training signal is real: one batch is fitted quickly
    batch = next(iter(data.train_dataloader()))
    module = SeparationModule(tiny=True)

    losses = overfit(module, batch, lambda b: separation_loss(module(b)[0], b["target"], b["mixture"], b["active"]).mean(),
                     steps=15, lr=5e-3)
    assert losses[-1] < losses[0] - 1.0  # dB


def test_separator_continues_from_export_and_learns_presence(tiny_corpus, tiny_encoder_dir, tmp_path):
    import torch.nn.functional as F

    torch.manual_seed(0)
    plain = SeparationModule(tiny=True, config={"presence_gate": False})
    plain.net.config.presence_sharpness = 3.0  # an export calibrated for inference
    plain.net.save_pretrained(tmp_path / "plain")
    module = SeparationModule(init_from=str(tmp_path / "plain"), config={"presence_gate": True})
    assert module.net.config.presence_sharpness == 1.0  # training always sees the plain gate
    for k, v in plain.net.state_dict().items():  # continues from the export; only the new gate is fresh
        assert torch.equal(module.net.state_dict()[k], v)
    data = SeparationDataModule(str(tiny_corpus), encoder=str(tiny_encoder_dir), batch_size=16, crop_seconds=1.0,
                                num_workers=0)
    data.setup()
    batch = next(iter(data.val_dataloader()))
    assert batch["active"].any() and (~batch["active"]).any()
    bce = lambda b: F.binary_cross_entropy_with_logits(module(b)[1], b["active"].float())
    losses = overfit(module, batch, bce, steps=20, lr=3e-3)
    assert losses[-1] < 0.5 * losses[0]


def test_mask_refiner_added_to_an_export_starts_as_identity_and_learns(tiny_corpus, tiny_encoder_dir, tmp_path):
    torch.manual_seed(0)
    plain = SeparationModule(tiny=True)
    plain.net.save_pretrained(tmp_path / "plain")
    module = SeparationModule(init_from=str(tmp_path / "plain"), config={"refine_channels": 4})
    data = SeparationDataModule(str(tiny_corpus), encoder=str(tiny_encoder_dir), batch_size=8, crop_seconds=1.0,
                                num_workers=0)
    data.setup()
    batch = next(iter(data.val_dataloader()))
    with torch.no_grad():  # the refiner's last layer starts at zero: same output as the export
        assert torch.allclose(plain.eval()(batch)[0], module.eval()(batch)[0], atol=1e-6)
    before = [p.detach().clone() for p in module.net.refiner.parameters()]
    losses = overfit(module.train(), batch, lambda b: separation_loss(module(b)[0], b["target"], b["mixture"],
                                                                     b["active"]).mean(), steps=15, lr=3e-3)
    assert losses[-1] < losses[0]
    assert any(not torch.equal(a, p) for a, p in zip(before, module.net.refiner.parameters()))


def test_blocks_grown_onto_an_export_start_as_identity_and_learn(tiny_corpus, tiny_encoder_dir, tmp_path):
    torch.manual_seed(0)
    plain = SeparationModule(tiny=True)
    plain.net.save_pretrained(tmp_path / "plain")
    grown = SeparationModule(init_from=str(tmp_path / "plain"), config={"dilations": [1, 2, 4, 1, 2]})
    assert len(grown.net.blocks) == 5
    data = SeparationDataModule(str(tiny_corpus), encoder=str(tiny_encoder_dir), batch_size=8, crop_seconds=1.0,
                                num_workers=0)
    data.setup()
    batch = next(iter(data.val_dataloader()))
    with torch.no_grad():  # the new blocks' output convolutions start at zero: same output as the export
        assert torch.allclose(plain.eval()(batch)[0], grown.eval()(batch)[0], atol=1e-6)
    new = grown.net.blocks[4].out.weight
    assert not new.any()
    overfit(grown.train(), batch, lambda b: separation_loss(grown(b)[0], b["target"], b["mixture"], b["active"]).mean(),
            steps=3, lr=3e-3)
    assert new.abs().sum() > 0  # the grown blocks learn
    with pytest.raises(ValueError, match="does not match"):  # a shorter net is not a grown one
        SeparationModule(init_from=str(tmp_path / "plain"), config={"dilations": [1, 2]})


def test_training_examples_repeat_under_the_same_torch_seed(tiny_encoder_dir, tiny_corpus):
    data = SeparationDataModule(str(tiny_corpus), encoder=str(tiny_encoder_dir), batch_size=4, crop_seconds=1.0,
                                num_workers=0, remix_prob=0.7, eq_prob=0.5, speed_prob=0.3)
    data.setup()

    def draw(seed):
        torch.manual_seed(seed)
        return [data.train_set[i] for i in range(4)]

    first, again, other = draw(5), draw(5), draw(6)
    for a, b in zip(first, again):  # crops, prompts and augmentations drawn again alike
        assert torch.equal(torch.as_tensor(a["mixture"]), torch.as_tensor(b["mixture"]))
        assert torch.equal(a["query"], b["query"])
    assert any(not torch.equal(torch.as_tensor(a["mixture"]), torch.as_tensor(b["mixture"])) for a, b in zip(first, other))


def test_hard_absent_prompts_favour_classes_like_a_present_one(tiny_encoder_dir, tiny_corpus):
    from recipes.data.taxonomy import TARGET_LABELS

    data = SeparationDataModule(str(tiny_corpus), encoder=str(tiny_encoder_dir), batch_size=4, crop_seconds=1.0,
                                num_workers=0, hard_absent_prob=1.0)
    data.setup()
    ds = data.train_set
    k = len(TARGET_LABELS)
    assert ds.class_sim.shape == (k, k) and np.allclose(np.diag(ds.class_sim), 1.0, atol=1e-5)
    sim = np.full((k, k), 0.2)
    sim[0, 5] = sim[5, 0] = 0.9  # class 5 is the one most like class 0
    ds.class_sim = sim
    rng = np.random.default_rng(0)
    hard = [ds._absent_label([TARGET_LABELS[0]], rng) for _ in range(400)]
    assert TARGET_LABELS[0] not in hard
    assert hard.count(TARGET_LABELS[5]) > 0.9 * len(hard)
    ds.hard_absent_prob = 0.0
    plain = [ds._absent_label([TARGET_LABELS[0]], rng) for _ in range(400)]
    assert TARGET_LABELS[0] not in plain and plain.count(TARGET_LABELS[5]) < 0.15 * len(plain)
    ds.hard_absent_prob, ds.train = 1.0, False  # validation stays random, comparable across runs
    val = [ds._absent_label([TARGET_LABELS[0]], rng) for _ in range(400)]
    assert val.count(TARGET_LABELS[5]) < 0.15 * len(val)


def test_absent_prob_sets_the_share_of_absent_targets_in_training_only(tiny_encoder_dir, tiny_corpus):
    data = SeparationDataModule(str(tiny_corpus), encoder=str(tiny_encoder_dir), batch_size=4, crop_seconds=1.0,
                                num_workers=0, absent_prob=0.6)
    data.setup()
    modes = [data.train_set[i % len(data.train_set)]["mode"] for i in range(120)]
    assert 0.45 < modes.count("absent") / len(modes) < 0.75 and "text" in modes and "audio" in modes
    assert data.val_set.mode_probs[-1] == 0.15  # validation keeps the default mix, comparable across runs


def test_separator_remix_lays_target_over_other_classes(tiny_encoder_dir, tiny_corpus):
    from recipes.separation.data import SeparationExamples, build_banks

    banks = build_banks(PEAVEncoder.from_pretrained(tiny_encoder_dir), tiny_corpus, splits=("train",), progress=False)
    data = SeparationExamples(tiny_corpus, "train", banks, crop_seconds=1.0, remix_prob=1.0)
    rng = np.random.default_rng(0)
    target = np.sin(np.arange(16000) * 0.05).astype(np.float32) * 0.5
    for _ in range(20):
        mixture, scaled, others = data._remix(target, "violin", 16000, rng)
        assert 1 <= len(others) <= 3 and "violin" not in others and len(set(others)) == len(others)
        assert np.abs(mixture).max() <= 0.99 + 1e-6
        assert np.corrcoef(scaled, target)[0, 1] > 0.999  # the target is only rescaled
        assert np.abs(mixture - scaled).max() > 1e-3  # and something else is in the mix
    item = data[0]
    assert item["mixture"].shape == item["target"].shape == (16000,)
    # with EQ the target is re-coloured, not only rescaled: the spectrum's shape changes
    data.eq_prob = 1.0
    noise = np.random.default_rng(1).standard_normal(16000).astype(np.float32) * 0.1
    changes = []  # a single draw may be a near-flat EQ (gain near 0 dB): look at a few
    for _ in range(5):
        _, coloured, _ = data._remix(noise, "violin", 16000, rng)
        assert np.isfinite(coloured).all()
        ratio = np.abs(np.fft.rfft(coloured)) / (np.abs(np.fft.rfft(noise)) + 1e-9)
        changes.append((np.corrcoef(coloured, noise)[0, 1], np.std(np.log(ratio[100:7000]))))
    assert min(c for c, _ in changes) < 0.999 and max(d for _, d in changes) > 0.05


def test_speed_perturbation_moves_pitch_and_keeps_length(tmp_path, tiny_encoder_dir, tiny_corpus):
    import soundfile as sf
    from recipes.separation.data import SPEEDS, SeparationExamples, build_banks, read_at_speed

    rate, n = 16000, 16000
    path = tmp_path / "tone.wav"
    sf.write(path, (0.5 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate)).astype(np.float32), rate)
    for a, b in SPEEDS:
        y = read_at_speed(path, 100, n, (a, b))
        assert y.shape == (n,) and y.dtype == np.float32 and np.isfinite(y).all()
        peak = np.argmax(np.abs(np.fft.rfft(y * np.hanning(n)))) * rate / n
        assert abs(peak - 440 * a / b) < 3, (a, b, peak)  # 440 Hz lands on 440 a/b, not on 440
    banks = build_banks(PEAVEncoder.from_pretrained(tiny_encoder_dir), tiny_corpus, splits=("train",), progress=False)
    data = SeparationExamples(tiny_corpus, "train", banks, crop_seconds=1.0, remix_prob=1.0, speed_prob=1.0,
                              mode_probs=(1.0, 0.0, 0.0))
    for i in range(6):
        item = data[i]
        assert item["mixture"].shape == item["target"].shape == (16000,)
        assert torch.isfinite(item["mixture"]).all() and item["target"].abs().max() > 0
        assert item["spans"].sum() == 0  # shifted targets get no span prompt: their spans moved


def test_encoder_continues_from_export_with_frozen_text_head(tiny_encoder_dir, tiny_corpus):
    module = EncoderModule(init_from=str(tiny_encoder_dir), frozen=["text_head"], config={"video_pool": "mask"})
    start = PEAVEncoder.from_pretrained(tiny_encoder_dir)
    assert module.model.config.video_pool == "mask" and module.model.config.embed_dim == 64
    before = {k: v.clone() for k, v in module.model.trainable_state().items()}
    assert all(torch.equal(before[k], v) for k, v in start.backend.model.trainable_state().items())
    data = EncoderDataModule(str(tiny_corpus), batch_size=12, num_workers=0)
    data.setup()
    batch = next(iter(data.train_dataloader()))
    overfit(module, batch, lambda b: sum(module.losses(b).values()), steps=3)
    after = module.model.trainable_state()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("text_head."))
    assert not torch.equal(before["audio_head.proj.weight"], after["audio_head.proj.weight"])


def test_span_threshold_calibration_writes_config(tiny_encoder_dir, tiny_corpus, tmp_path):
    """The tool stores the threshold its search finds best, in a new folder, and leaves the model as it was."""
    import shutil

    from recipes.encoders.calibrate import calibrate, main

    model = tmp_path / "enc"
    shutil.copytree(tiny_encoder_dir, model)
    config = PEAVConfig.load(model)
    config.frame_threshold = 0.123  # not a candidate: the stored value must come from the search
    config.save(model)
    best, f1 = calibrate(PEAVEncoder.from_pretrained(model), tiny_corpus, "train", limit=4, progress=False)
    assert f1[best] == max(f1.values())
    main([str(model), "--out", str(tmp_path / "calibrated"), "--data", str(tiny_corpus), "--split", "train", "--limit", "4"])
    assert PEAVEncoder.from_pretrained(tmp_path / "calibrated").backend.frame_threshold == best
    assert PEAVConfig.load(model).frame_threshold == 0.123


def test_text_anchoring_is_chosen_on_a_split_and_stored(tiny_encoder_dir, tiny_corpus, tmp_path):
    import shutil

    from recipes.encoders.anchor import TEMPERATURES, WEIGHTS, main, training_captions

    model = tmp_path / "enc"
    shutil.copytree(tiny_encoder_dir, model)
    main([str(model), "--out", str(tmp_path / "anchored"), "--data", str(tiny_corpus), "--split", "train", "--limit", "6"])
    cfg = PEAVEncoder.from_pretrained(tmp_path / "anchored").backend.model.config
    assert cfg.text_anchors == training_captions() and len(cfg.text_anchors) > 27
    assert cfg.anchor_weight in WEIGHTS and cfg.anchor_temperature in TEMPERATURES


def test_video_stage_trains_video_only_and_keeps_audio_and_text_queries(tiny_encoder_dir, tiny_corpus):
    frozen = ["audio", "audio_head", "text_head", "frame_head", "frame_text_head"]
    module = EncoderModule(init_from=str(tiny_encoder_dir), frozen=frozen, frame_weight=0.0)
    data = EncoderDataModule(str(tiny_corpus), batch_size=8, num_workers=0, video_only=True)
    data.setup()
    assert len(data.train_set) and all(data.train_set[i]["frames"] is not None for i in range(len(data.train_set)))
    before = {k: v.clone() for k, v in module.model.trainable_state().items()}
    batch = next(iter(data.train_dataloader()))
    losses = overfit(module, batch, lambda b: sum(module.losses(b).values()), steps=8)
    assert losses[-1] < losses[0]
    after = module.model.trainable_state()
    for k in before:
        if k.split(".")[0] in frozen:
            assert torch.equal(before[k], after[k]), k
    assert not torch.equal(before["video_head.proj.weight"], after["video_head.proj.weight"])


def test_scene_stage_trains_mixtures_on_all_their_sounds_and_distills_single_sources(tiny_encoder_dir, tiny_corpus, tmp_path):
    module = EncoderModule(init_from=str(tiny_encoder_dir), frozen=["text_head", "frame_text_head"],
                           mixture_weight=1.0, distill_weight=10.0)
    data = EncoderDataModule(str(tiny_corpus), batch_size=8, num_workers=0, scene_repeat=3)
    data.setup()
    scenes = [k for _, k in data.train_set.index if k < 0]
    assert scenes and len(scenes) == 3 * sum(bool(r["video"]) for r in data.train_set.rows)
    batch = next(iter(data.train_dataloader()))
    module.eval()
    first = module.losses(batch)
    module.train()
    assert {"mixture_text", "distill"} <= set(first) and first["distill"].abs() < 1e-4  # the student starts as the teacher
    overfit(module, batch, lambda b: sum(module.losses(b).values()), steps=6)
    module.eval()
    moved = module.losses(batch)
    assert moved["distill"] > first["distill"] and moved["mixture_text"] < first["mixture_text"]
    # the teacher stays put and stays out of checkpoints (it is rebuilt from init_from)
    teacher = PEAVEncoder.from_pretrained(tiny_encoder_dir).backend.model
    assert torch.equal(module.teacher["head"].proj.weight, teacher.audio_head.proj.weight)
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    assert not [k for k in checkpoint["state_dict"] if k.startswith("teacher.")]


@pytest.mark.slow
def test_sync_stage_learns_on_fresh_scenes_and_leaves_the_encoder_as_it_was(tiny_encoder_dir, tiny_corpus, tmp_path):
    from encoders.modeling import sigmoid_contrastive_loss
    from recipes.encoders.sync import SyncDataModule, SyncModule
    from soundsift.errors import SoundSiftError

    data = SyncDataModule(str(tiny_corpus), batch_size=6, crop_seconds=1.0, size=32, epoch_length=12, num_workers=0)
    data.setup()
    scene = data.train_set[0]
    assert scene["frames"].shape == (10, 3, 32, 32) and scene["frames"].dtype == torch.uint8
    assert scene["audio"].shape == (16000,) and scene["audio"].abs().max() > 0
    assert len(data.val_set) and data.val_set[0]["frames"].shape == (10, 3, 32, 32)  # decoded from the mp4s

    torch.manual_seed(0)
    module = SyncModule(str(tiny_encoder_dir), sync_dim=8, sync_size=32)
    before = {k: v.clone() for k, v in module.model.trainable_state().items() if not k.startswith("sync")}
    batch = next(iter(data.train_dataloader()))
    losses = overfit(module, batch, lambda b: sigmoid_contrastive_loss(*module.vectors(b), module.model.sync_scale,
                                                                       module.model.sync_bias), steps=10)
    assert losses[-1] < 0.8 * losses[0]
    trainer(tmp_path, 2).fit(module, data)
    after = module.model.trainable_state()
    for k in before:  # the frozen encoder, batch-norm statistics included, did not move
        assert torch.equal(before[k], after[k]), k

    export_encoder(str(tmp_path / "ckpt" / "last.ckpt"), str(tmp_path / "synced"))
    from recipes.encoders.sync_weight import WEIGHTS, choose
    from recipes.encoders.sync_weight import main as store_weight

    best, r_at_1 = choose(PEAVEncoder.from_pretrained(tmp_path / "synced"), tiny_corpus, "val", progress=False)
    assert set(r_at_1) == set(WEIGHTS) and all(0 <= v <= 1 for v in r_at_1.values()) and r_at_1[best] == max(r_at_1.values())
    store_weight([str(tmp_path / "synced"), "--out", str(tmp_path / "weighted"), "--data", str(tiny_corpus),
                  "--split", "val"])
    enc = PEAVEncoder.from_pretrained(tmp_path / "weighted")
    assert enc.backend.sync_weight == best
    assert enc.has_sync and not PEAVEncoder.from_pretrained(tiny_encoder_dir).has_sync
    with pytest.raises(SoundSiftError, match="sync"):
        PEAVEncoder.from_pretrained(tiny_encoder_dir).sync_video(scene["frames"], 10.0)
    v = enc.sync_video(scene["frames"], 10.0)
    a = enc.sync_audio(torch.stack([scene["audio"], torch.roll(scene["audio"], 4000)])[:, None], 16000)
    assert v.shape == (1, 10, 8) and a.shape == (2, 10, 8)
    emb_v = enc.embed_video(scene["frames"], 10.0)
    emb_a = enc.embed_audio(scene["audio"][None], 16000)
    pooled = enc.video_audio_similarity(emb_v, emb_a.expand(2, -1))
    both = enc.video_audio_similarity(emb_v, emb_a.expand(2, -1), list(v), list(a))
    from encoders.towers import sync_similarity

    sync = sync_similarity(list(v), list(a))
    assert torch.allclose(pooled[0, 0], pooled[0, 1])
    assert not torch.allclose(sync[0, 0], sync[0, 1])  # same content shifted in time: only sync tells them apart
    assert torch.allclose(both, pooled + enc.backend.sync_weight * sync)


def test_last_checkpoint_is_the_final_step_when_a_run_ends_between_saves(tiny_corpus, tmp_path):
    from recipes.common import SaveLastAtEnd

    for steps in (3, 1):  # ends after a save, and before the first one
        ckpt = tmp_path / f"ckpt{steps}"
        run = L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0, default_root_dir=tmp_path,
                        callbacks=[ModelCheckpoint(dirpath=ckpt, save_last=True, every_n_train_steps=2),
                                   SaveLastAtEnd(str(ckpt))])
        run.fit(EncoderModule(tiny=True), EncoderDataModule(str(tiny_corpus), batch_size=8, num_workers=0))
        assert torch.load(ckpt / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] == steps
        assert not list(ckpt.glob("last-v*.ckpt"))  # one "last", not two


@pytest.mark.parametrize("tool,args", [
    ("recipes.separation.export", ["{tmp}/missing.ckpt", "{tmp}/out"]),
    ("recipes.encoders.export", ["{tmp}/junk.ckpt", "{tmp}/out"]),
    ("recipes.separation.calibrate", ["{tmp}", "--out", "{tmp}/out", "--data", "{corpus}"]),
    ("recipes.encoders.calibrate", ["{encoder}", "--out", "{tmp}/out", "--data", "{corpus}", "--split", "nope"]),
])
@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_recipe_tools_stop_on_bad_input_with_one_error_line(tool, args, tmp_path, tiny_encoder_dir, tiny_corpus):
    import subprocess
    import sys

    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    argv = [a.format(tmp=tmp_path, corpus=tiny_corpus, encoder=tiny_encoder_dir) for a in args]
    run = subprocess.run([sys.executable, "-m", tool, *argv], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_separator_that_does_not_fit_its_encoder_stops_with_one_line(tiny_corpus, tmp_path):
    """The tiny separator (64-d queries) with the shipped 256-d encoder: one error line before training."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "recipes.separation.train", "fit", "--model.tiny", "true",
                          "--data.root", str(tiny_corpus), "--data.num_workers", "0", "--trainer.max_steps", "1",
                          "--trainer.logger", "false", "--trainer.default_root_dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the data's encoder gives 256-d queries but the separator takes 64-d"), run.stderr
    assert "Traceback" not in run.stderr


def test_synthetic_sources_can_be_made_to_sound_recorded():
    from recipes.data.augment import simulated_room, sound_recorded

    rng = np.random.default_rng(0)
    swell = np.abs(np.sin(np.arange(16000) / 16000 * 3 * np.pi))  # loud and quiet parts, for the compressor
    x = (0.1 * rng.standard_normal(16000) * swell).astype(np.float32)
    ir = simulated_room(16000, rng)
    assert ir[0] >= 1.0 and 0.2 * 16000 <= len(ir) <= 0.9 * 16000
    seen = set()
    for seed in range(12):
        r = np.random.default_rng(seed)
        kind = int(np.random.default_rng(seed).integers(3))
        y = sound_recorded(x, 16000, r)
        seen.add(kind)
        assert y.shape == x.shape and abs(np.sqrt(np.mean(y ** 2)) / np.sqrt(np.mean(x ** 2)) - 1) < 1e-3
        assert not np.allclose(y, x)
        if kind == 1:  # the band limit (3.4-4 kHz) leaves little above 5 kHz
            spec = np.abs(np.fft.rfft(y)) ** 2
            assert spec[int(5000 / 8000 * len(spec)):].sum() < 0.01 * spec.sum()
    assert seen == {0, 1, 2}


def test_lossy_codecs_keep_length_and_timing_and_take_away_detail():
    from recipes.data.augment import CODECS, lossy_codec, sound_recorded

    rate = 16000
    rng = np.random.default_rng(1)
    t = np.arange(2 * rate) / rate
    # a tone with a sharp onset halfway, and hiss: alignment and lost detail are both visible
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * (t > 1.0) + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
    names = set()
    for seed in range(40):  # the first seed that draws each codec
        name = str(np.random.default_rng(seed).choice(sorted(CODECS)))
        if name in names:
            continue
        names.add(name)
        y = lossy_codec(x, rate, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        lags = np.arange(-400, 401)
        ref, out = x[8000:24000], y[8000:24000]
        xc = [np.dot(ref, np.roll(out, -lag)) for lag in lags]
        assert abs(int(lags[int(np.argmax(xc))])) <= 2  # the decoder removed the encoder's delay
        err = y - x
        assert 10 * np.log10(np.sum(x ** 2) / np.sum(err ** 2)) > 3  # still the same signal ...
        assert not np.allclose(y, x, atol=1e-3)  # ... but coded
    assert names == set(CODECS)
    y = sound_recorded(x, rate, np.random.default_rng(0), kinds=("codec",))
    assert abs(np.sqrt(np.mean(y ** 2)) / np.sqrt(np.mean(x ** 2)) - 1) < 1e-3
    with pytest.raises(ValueError, match="unknown recording kinds"):
        sound_recorded(x, rate, rng, kinds=("tape",))


def test_ambience_lies_under_the_mixture_at_its_snr_and_stays_out_of_the_target(tiny_encoder_dir, tiny_corpus):
    from recipes.data.augment import add_ambience, synthetic_ambience
    from recipes.separation.data import SeparationExamples, build_banks

    rate, n = 16000, 32000
    slopes = []
    for seed in range(8):
        x = synthetic_ambience(n, rate, np.random.default_rng(seed))
        assert x.shape == (n,) and x.dtype == np.float32 and abs(np.sqrt(np.mean(x ** 2)) - 1) < 1e-3
        spec = np.abs(np.fft.rfft(x)) ** 2
        slopes.append(spec[: len(spec) // 8].sum() / spec[len(spec) // 2:].sum())  # low band over high band
    assert max(slopes) > 10 * min(slopes)  # colours differ: from rumble to hiss
    rng = np.random.default_rng(0)
    mixture = (0.1 * rng.standard_normal(n)).astype(np.float32)
    target = 0.5 * mixture
    noise = synthetic_ambience(n, rate, rng)
    for snr in (-5.0, 0.0, 10.0):
        mixed, kept = add_ambience(mixture, target, noise, snr)
        scale = kept[0] / target[0]
        assert np.allclose(kept, target * scale, atol=1e-6) and np.abs(mixed).max() <= 0.99 + 1e-6
        added = mixed - mixture * scale
        assert abs(10 * np.log10(np.mean((mixture * scale) ** 2) / np.mean(added ** 2)) - snr) < 0.01
    silent, _ = add_ambience(np.zeros(n, np.float32), np.zeros(n, np.float32), noise, 0.0)
    assert abs(20 * np.log10(np.sqrt(np.mean(silent ** 2))) + 30) < 0.1  # an absent-target crop gets a floor
    banks = build_banks(PEAVEncoder.from_pretrained(tiny_encoder_dir), tiny_corpus, splits=("train",), progress=False)
    data = SeparationExamples(tiny_corpus, "train", banks, crop_seconds=1.0, ambience_prob=1.0,
                              mode_probs=(0.0, 0.0, 1.0))
    for i in range(4):  # absent targets stay silent under the ambience; training only
        item = data[i]
        assert item["target"].abs().max() == 0 and item["mixture"].abs().max() > 0
    quiet = SeparationExamples(tiny_corpus, "train", banks, crop_seconds=1.0, mode_probs=(1.0, 0.0, 0.0), train=False,
                               ambience_prob=1.0)
    plain = SeparationExamples(tiny_corpus, "train", banks, crop_seconds=1.0, mode_probs=(1.0, 0.0, 0.0), train=False)
    assert torch.equal(quiet[0]["mixture"], plain[0]["mixture"])


def test_corpora_combine_without_copying(tiny_corpus, tmp_path):
    from recipes.data.build import read_manifest
    from recipes.data.combine import combine

    combine(tmp_path / "both", [str(tiny_corpus), str(tiny_corpus)], str(tiny_corpus))
    train, val = read_manifest(tmp_path / "both", "train"), read_manifest(tmp_path / "both", "val")
    assert len(train) == 2 * len(read_manifest(tiny_corpus, "train")) and len(val) == len(read_manifest(tiny_corpus, "val"))
    assert all((tmp_path / "both" / s["path"]).is_file() for r in train[:3] for s in r["sources"])
    assert not list((tmp_path / "both").rglob("*.flac"))


def test_combine_keeps_a_share_of_each_class_recordings_and_only_rows_made_of_them(tiny_corpus, tmp_path):
    import json

    from recipes.data.build import read_manifest
    from recipes.data.combine import combine

    # a recorded corpus: the tiny corpus' rows, each source said to come from one of 8 recordings of its class
    real = tmp_path / "real"
    real.mkdir()
    rows = read_manifest(tiny_corpus, "train") + read_manifest(tiny_corpus, "val")
    for i, row in enumerate(rows):
        for j, s in enumerate(row["sources"]):
            s["path"] = str((tiny_corpus / s["path"]).resolve())
            s["attributes"] = {"recording": f"{s['label']}-{(i + j) % 8}"}
    (real / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    train = [r for r in rows if r["split"] == "train"]
    labels = {s["label"] for r in train for s in r["sources"]}

    combine(tmp_path / "half", [str(real), str(tiny_corpus)], str(tiny_corpus), keep_recordings=0.5, seed=1)
    kept = [r for r in read_manifest(tmp_path / "half", "train") if r["id"].startswith("real-")]
    used = {s["attributes"]["recording"] for r in kept for s in r["sources"]}
    build = json.loads((tmp_path / "half" / "build.json").read_text())
    assert build["kept"][str(real)]["recordings"] <= 4 * len(labels) and 0 < len(kept) < len(train)
    assert len(used) <= 4 * len(labels)  # at most half of each class's 8 recordings
    everything = {s["attributes"]["recording"] for r in train for s in r["sources"]}
    dropped = [r for r in train if not all(s["attributes"]["recording"] in used for s in r["sources"])]
    assert len(kept) + len(dropped) == len(train) and everything - used  # whole rows go, never part of one
    # the renders and the evaluation splits are untouched
    assert len(read_manifest(tmp_path / "half", "val")) == len(read_manifest(tiny_corpus, "val"))
    assert sum(r["id"].startswith(tiny_corpus.name) for r in read_manifest(tmp_path / "half", "train")) == \
        len(read_manifest(tiny_corpus, "train"))
    combine(tmp_path / "again", [str(real)], str(tiny_corpus), keep_recordings=0.5, seed=1)
    assert [r["id"] for r in read_manifest(tmp_path / "again", "train")] == [r["id"] for r in kept]  # seeded


def test_real_stage_joins_corpora_holds_renders_only_and_keeps_the_sync_towers_audio(tiny_corpus, tmp_path):
    from encoders.modeling import PEAVModel

    torch.manual_seed(0)
    start = PEAVModel(dataclasses.replace(PEAVConfig.tiny(), sync_dim=8, sync_size=32))
    start.save_pretrained(tmp_path / "start")
    (tmp_path / "recorded").symlink_to(tiny_corpus)  # stands in for a second corpus
    data = EncoderDataModule([str(tmp_path / "recorded"), str(tiny_corpus)], batch_size=16, num_workers=0,
                             video=False, hold_roots=[str(tiny_corpus)], val_root=str(tiny_corpus))
    data.setup()
    single = EncoderDataModule(str(tiny_corpus), batch_size=16, num_workers=0, video=False)
    single.setup()
    n = len(single.train_set)
    assert len(data.train_set) == 2 * n and all(data.val_set[i]["hold"] for i in range(len(data.val_set)))
    assert [data.train_set[i]["hold"] for i in (0, n - 1, n, 2 * n - 1)] == [False, False, True, True]
    assert all(data.train_set[i]["frames"] is None for i in range(2 * n))  # video=False: audio examples only

    frozen = ["text_head", "video", "video_head", "av_head", "fusion", "sync"]
    module = EncoderModule(init_from=str(tmp_path / "start"), config={"sync_own_audio": True}, frozen=frozen,
                           mixture_weight=1.0, distill_weight=10.0)
    own = module.model.sync_audio_tower.state_dict()
    assert own and all(torch.equal(v, start.audio.state_dict()[k]) for k, v in own.items())  # a copy of the audio tower
    batch = data.collate([data.train_set[i] for i in (0, 1, 2, n, n + 1, n + 2)])
    assert batch["hold"].tolist() == [False] * 3 + [True] * 3
    overfit(module, batch, lambda b: sum(module.losses(b).values()), steps=6)
    module.model.save_pretrained(tmp_path / "real")

    before, after = PEAVEncoder.from_pretrained(tmp_path / "start"), PEAVEncoder.from_pretrained(tmp_path / "real")
    wave = batch["audio"][:2, None]
    assert not torch.allclose(before.embed_audio(wave, 16000), after.embed_audio(wave, 16000))  # the audio tower learnt
    assert torch.equal(before.sync_audio(wave, 16000), after.sync_audio(wave, 16000))  # the sync tower hears as before
    assert torch.equal(before.embed_text(["a violin"]), after.embed_text(["a violin"]))


def test_naming_stage_refits_the_text_head_alone_and_keeps_the_separators_queries(tiny_corpus, tmp_path):
    """``own_query_text`` + ``trainable: [text_head]``: the text head learns to name the audio embeddings
    while the separator's queries (``embed_query_text``), audio, frame scores, video and temperatures stay
    bit-identical; the frozen copy is saved and loaded with the model."""
    from encoders.modeling import PEAVModel

    torch.manual_seed(0)
    start = PEAVModel(dataclasses.replace(PEAVConfig.tiny(), sync_dim=8, sync_size=32))
    start.save_pretrained(tmp_path / "start")
    data = EncoderDataModule(str(tiny_corpus), batch_size=16, num_workers=0, video=False)
    data.setup()
    module = EncoderModule(init_from=str(tmp_path / "start"), config={"own_query_text": True},
                           trainable=["text_head"], frame_weight=0.0)
    assert {n for n, p in module.model.named_parameters() if p.requires_grad} == \
        {n for n, _ in module.model.text_head.named_parameters(prefix="text_head")}
    module.train()
    assert module.model.text_head.training and not module.model.audio.training
    batch = data.collate([data.train_set[i] for i in range(8)])
    losses = overfit(module, batch, lambda b: module.losses(b)["audio_text"], steps=8)
    assert losses[-1] < losses[0]
    module.model.save_pretrained(tmp_path / "named")

    before, after = PEAVEncoder.from_pretrained(tmp_path / "start"), PEAVEncoder.from_pretrained(tmp_path / "named")
    wave, texts = batch["audio"][:2, None], ["a violin", "a man speaking"]
    assert not torch.allclose(before.embed_text(texts), after.embed_text(texts))  # the text head learnt
    assert torch.equal(after.embed_query_text(texts), before.embed_text(texts))   # queries as before
    assert torch.equal(before.embed_query_text(texts), before.embed_text(texts))  # one head: the same
    assert torch.equal(before.embed_audio(wave, 16000), after.embed_audio(wave, 16000))
    assert torch.equal(before.frame_scores(wave[0], 16000, texts), after.frame_scores(wave[0], 16000, texts))
    assert torch.equal(before.backend.model.logit_scale, after.backend.model.logit_scale)


@pytest.mark.parametrize("total", [1, 2, 3, 4, 19, 20, 21, 39, 40, 2000])
def test_one_cycle_schedule_builds_and_warms_up_for_any_run_length(total):
    from recipes.common import warmup_share

    # 5 % of 20 steps ends the warm-up at step 0, where torch's OneCycleLR divides by zero (tiny.yaml)
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=total, pct_start=warmup_share(total))
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(total - 1):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert all(0 < lr <= 1e-3 + 1e-12 for lr in lrs)
    if total >= 4:
        peak = int(np.argmax(lrs))
        assert 1 <= peak <= max(2, round(0.05 * total)) and lrs[-1] < lrs[peak] / 100
    assert warmup_share(2000) == 0.05  # the shipped runs' schedules are unchanged


def test_blend_mixes_shared_weights_and_keeps_those_only_the_second_has(tmp_path):
    from safetensors.torch import load_file, save_file

    from recipes.separation.blend import blend
    from separation.configuration import SeparatorConfig
    from soundsift.errors import SoundSiftError

    a, b = tmp_path / "a", tmp_path / "b"
    for folder, tensors in ((a, {"trunk": torch.zeros(3)}), (b, {"trunk": torch.ones(3), "visual": torch.full((2,), 5.0)})):
        folder.mkdir()
        save_file(tensors, str(folder / "model.safetensors"))
        SeparatorConfig().save(folder)
    out = load_file(str(blend(a, b, 0.25, tmp_path / "out") / "model.safetensors"))
    assert torch.allclose(out["trunk"], torch.full((3,), 0.25))
    assert torch.equal(out["visual"], torch.full((2,), 5.0))
    assert SeparatorConfig.load(tmp_path / "out").lineage["blend"]["kept_from_to"] == ["visual"]
    with pytest.raises(SoundSiftError, match="not the same network"):
        blend(b, a, 0.5, tmp_path / "bad")  # the first may not hold weights the second lacks
    with pytest.raises(SoundSiftError, match="use --force"):
        blend(a, b, 1.0, tmp_path / "out")  # an existing folder is kept as it was
    assert torch.allclose(load_file(str(tmp_path / "out" / "model.safetensors"))["trunk"], torch.full((3,), 0.25))
    blend(a, b, 1.0, tmp_path / "out", force=True)
    assert torch.equal(load_file(str(tmp_path / "out" / "model.safetensors"))["trunk"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "out"]  # no staging folder left, no "bad"
