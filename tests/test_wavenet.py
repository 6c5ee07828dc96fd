"""µ-law quantisation and WaveNet: receptive field, causality, conditioning, training, fast generation."""

import math
import time

import numpy as np
import pytest
import torch

import genai_lib as gl
from genai_lib import pseudo_device
from genai_lib.models.wavenet import WaveNet, WaveNetConfig, wavenet_step
from genai_lib.mu_law import mu_law_decode, mu_law_encode

TINY = dict(residual_channels=8, dilation_channels=8, skip_channels=16, dilations=(1, 2, 4, 8))


def tiny_wavenet(seed=0, **overrides) -> WaveNet:
    torch.manual_seed(seed)
    return WaveNet(WaveNetConfig(**{**TINY, **overrides}))


def classes(B, T, V=256, seed=0):
    return torch.randint(V, (B, T), generator=torch.Generator().manual_seed(seed))


# ----- µ-law ---------------------------------------------------------------------------------------------


def test_mu_law_round_trip_error_is_bounded_and_quiet_sounds_keep_finer_resolution():
    mu = 255
    x = torch.linspace(-1, 1, 200_001)
    x_hat = mu_law_decode(mu_law_encode(x, mu), mu)
    # Rounding moves F(x) by at most 1/mu, and |x| + 1/mu = (1 + mu)^|F(x)| / mu, so the error is at most
    # ((1 + mu)^(1/mu) - 1)(|x| + 1/mu): 2.2% of the amplitude plus 8.6e-5.
    bound = ((1 + mu) ** (1 / mu) - 1) * (x.abs() + 1 / mu)
    assert ((x - x_hat).abs() <= bound + 1e-6).all()
    quiet, loud = x.abs() < 0.01, x.abs() > 0.5
    assert (x - x_hat)[quiet].abs().max() < 3e-4 < 5e-3 < (x - x_hat)[loud].abs().max()
    # The levels' spacing grows with amplitude: 1.7e-4 next to silence, 0.043 next to full scale.
    levels = mu_law_decode(torch.arange(mu + 1), mu)
    gaps = levels.diff()[128:]  # the positive half
    assert (gaps.diff() > 0).all() and gaps[0] < 2e-4 and gaps[-1] > 0.04
    # A whisper within ±0.01 gets 60 distinct classes; uniform 8-bit quantisation would give it 4.
    whisper = torch.linspace(-0.01, 0.01, 10_001)
    assert len(mu_law_encode(whisper).unique()) == 60
    assert len(torch.floor((whisper + 1) / 2 * mu + 0.5).unique()) == 4


def test_mu_law_classes_are_fixed_points_and_the_ends_map_to_the_end_classes():
    q = torch.arange(256)
    assert torch.equal(mu_law_encode(mu_law_decode(q)), q)
    assert mu_law_encode(torch.tensor([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]  # silence is class 128
    assert mu_law_decode(torch.tensor([0, 255])).tolist() == [-1.0, 1.0]
    out = mu_law_encode(np.zeros((2, 3), dtype=np.float32), mu=15)  # arrays too; another mu
    assert out.shape == (2, 3) and out.dtype == torch.int64 and (out == 8).all()
    assert mu_law_decode([0, 15], mu=15).dtype == torch.float32


def test_mu_law_rejects_what_it_cannot_encode():
    with pytest.raises(ValueError, match=r"in \[-1, 1\].*x / 32768"):
        mu_law_encode(torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="in \\[-1, 1\\]"):
        mu_law_encode(torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match="in \\[-1, 1\\]"):
        mu_law_encode(np.array([1000], dtype=np.int16))  # int16 audio that was never normalised
    with pytest.raises(ValueError, match="outside 0..255"):
        mu_law_decode(torch.tensor([256]))
    with pytest.raises(ValueError, match="integer classes"):
        mu_law_decode(torch.tensor([0.5]))
    with pytest.raises(ValueError, match="mu must be an integer"):
        mu_law_encode(torch.zeros(1), mu=0)


# ----- the network ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel_size, dilations", [(2, (1, 2, 4, 8)), (3, (1, 3, 2))])
def test_receptive_field_formula_matches_the_measured_one_and_the_network_is_causal(kernel_size, dilations):
    model = tiny_wavenet(kernel_size=kernel_size, dilations=dilations).double()  # exact zeros: no float noise
    R = model.config.receptive_field
    assert R == 1 + (kernel_size - 1) * (1 + sum(dilations))
    t0, T = 7, 7 + R + 10
    x = classes(2, T)
    changed = x.clone()
    changed[:, t0] = (x[:, t0] + 100) % 256
    with torch.no_grad():
        diff = (model(x)[0] - model(changed)[0]).abs().amax(dim=(0, 2))  # (T,): how much each output moved
    moved = diff.nonzero().flatten().tolist()
    # logits[:, t] predicts x[t + 1] from x[0..t]: x[t0] reaches the outputs t0 .. t0 + R - 1, and no others.
    assert moved == list(range(t0, t0 + R))
    assert WaveNetConfig().receptive_field == 512  # two stacks of 1..128 and the input conv: 1 + 1 + 2 * 255


def test_conditioning_changes_every_output_and_only_through_the_condition():
    model = tiny_wavenet(n_instruments=3, n_pitches=5)
    x = classes(2, 20)
    with torch.no_grad():
        base = model(x, instrument=torch.tensor([0, 1]), pitch=2)[0]
        other_instrument = model(x, instrument=torch.tensor([2, 1]), pitch=2)[0]
        other_pitch = model(x, instrument=torch.tensor([0, 1]), pitch=torch.tensor([2, 4]))[0]
        same = model(x, instrument=torch.tensor([0, 1]), pitch=torch.tensor([2, 2]))[0]
    assert torch.equal(base, same)  # one int is that id for every sequence
    assert (base[0] - other_instrument[0]).abs().amin() > 0 and torch.equal(base[1], other_instrument[1])
    assert (base[1] - other_pitch[1]).abs().amin() > 0 and torch.equal(base[0], other_pitch[0])


def test_queues_reproduce_the_forward_pass_one_sample_at_a_time():
    model = tiny_wavenet(kernel_size=3, n_pitches=4)
    x, pitch = classes(3, 80), torch.tensor([0, 3, 1])
    queues = model.new_queues()
    with torch.no_grad():
        full, _ = model(x, pitch=pitch)  # (B, T, V)
        steps = torch.cat([model(x[:, t : t + 1], pitch=pitch, queues=queues)[0] for t in range(80)], dim=1)
    assert 80 > 2 * model.config.receptive_field  # every ring buffer has wrapped around
    assert torch.allclose(steps, full, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="one batch of sequences"):
        model(x[:2, :1], pitch=pitch[:2], queues=queues)


def test_fast_and_naive_generation_draw_identical_samples():
    model = tiny_wavenet(n_instruments=2, n_pitches=3)
    R = model.config.receptive_field
    model.train()
    prime = classes(4, R + 5)  # longer than the receptive field: both paths must crop it alike
    runs = {}
    for fast in (True, False):
        for temperature in (1.0, 0.7):
            runs[fast, temperature] = model.generate(
                3 * R,
                instrument=torch.tensor([0, 1, 0, 1]),
                pitch=2,
                prime=prime,
                temperature=temperature,
                generator=torch.Generator().manual_seed(5),
                fast=fast,
            )
    assert model.training  # the mode is restored
    sample = runs[True, 1.0]
    assert sample.shape == (4, 3 * R) and sample.dtype == torch.int64
    assert len(sample.unique()) > 100  # an untrained model's draws spread over the classes: a real test
    for temperature in (1.0, 0.7):
        assert torch.equal(runs[True, temperature], runs[False, temperature])
    # The samples are draws from the forward pass's own distributions: scoring them reproduces the
    # sampler's logits. Without a prime, B comes from batch_size and the start is one sample of silence.
    unconditional = tiny_wavenet(seed=1)
    g = torch.Generator().manual_seed(0)
    a = unconditional.generate(2 * R, batch_size=3, generator=g)
    b = unconditional.generate(2 * R, batch_size=3, generator=torch.Generator().manual_seed(0), fast=False)
    assert a.shape == (3, 2 * R) and torch.equal(a, b)
    greedy = unconditional.generate(R, batch_size=2, temperature=0)
    seq = torch.cat([torch.full((2, 1), 128), greedy], dim=1)
    with torch.no_grad():
        assert torch.equal(unconditional(seq[:, :-1])[0].argmax(-1), greedy)


def periodic_batch(B, T, generator):
    """(x (B, T), instrument (B,), pitch (B,)): instrument 0 a sine, 1 a sawtooth; pitch 0 period 8, 1 period 12."""
    instrument = torch.randint(2, (B,), generator=generator)
    pitch = torch.randint(2, (B,), generator=generator)
    period = torch.where(pitch == 0, 8.0, 12.0)[:, None]  # (B, 1)
    phase = torch.randint(24, (B, 1), generator=generator) + torch.arange(T)  # (B, T)
    sine, saw = torch.sin(2 * math.pi * phase / period), 2 * torch.remainder(phase / period, 1.0) - 1
    wave = 0.8 * torch.where(instrument[:, None] == 0, sine, saw)  # (B, T)
    return mu_law_encode(wave), instrument, pitch


def test_fit_trains_a_tiny_conditional_wavenet_on_periodic_waves():
    gl.setup(0, quiet=True)
    model = tiny_wavenet(residual_channels=16, dilation_channels=16, n_instruments=2, n_pitches=2)
    g = torch.Generator().manual_seed(0)
    history = gl.fit(
        wavenet_step(model),
        models=model,
        optimizers=torch.optim.AdamW(model.parameters(), lr=1e-2),
        data=lambda: periodic_batch(16, 33, g),
        config=gl.TrainConfig(steps=100, log_every=10, device="cpu", progress=False),
    )
    # From log 256 = 5.5 nats to a small fraction: the condition and a period of context fix the next class.
    assert history["loss"][0] > 4.0 and history["loss"][-1] < 0.5
    x, instrument, pitch = periodic_batch(8, 48, torch.Generator().manual_seed(1))
    out = model.generate(24, instrument=instrument, pitch=pitch, prime=x[:, :24], temperature=0)
    assert (out == x[:, 24:]).float().mean() > 0.9  # the waves go on, at their own period and shape
    _, loss = model(x[:, :-1], instrument, pitch, targets=x[:, 1:])
    assert loss.item() < 0.5
    step = wavenet_step(tiny_wavenet())  # an unconditional model trains on x alone
    with pytest.raises(ValueError, match=r"\(x, instrument, pitch\)"):
        step((x, instrument), None)


def test_fast_generation_is_faster_than_rerunning_the_receptive_field():
    model = WaveNet(WaveNetConfig())  # R = 512
    R, B = model.config.receptive_field, 8
    prime = torch.full((B, R), 128)  # so that every naive step sees a full window

    def rate(n, fast):
        model.generate(1, prime=prime, fast=fast)  # warm up
        t = time.perf_counter()
        model.generate(n, prime=prime[:, :1], fast=True) if fast else model.generate(n, prime=prime, fast=False)
        return B * n / (time.perf_counter() - t)

    fast, naive = rate(100, True), rate(6, False)
    print(f"WaveNet default config (R={R}), B={B}: fast {fast:.0f} samples/s, naive {naive:.0f}, x{fast / naive:.1f}")
    assert fast > naive


def test_generation_on_a_device_from_inputs_on_the_cpu():
    dev = pseudo_device.enable()
    cpu = tiny_wavenet(n_pitches=2)
    model = tiny_wavenet(n_pitches=2).to(dev)
    prime, pitch = classes(2, 5), torch.tensor([0, 1])
    for fast in (True, False):
        out = model.generate(20, pitch=pitch, prime=prime, generator=torch.Generator().manual_seed(3), fast=fast)
        assert out.device == dev
        ref = cpu.generate(20, pitch=pitch, prime=prime, generator=torch.Generator().manual_seed(3), fast=fast)
        assert torch.equal(out.cpu(), ref)


def test_bad_configs_and_inputs_get_clear_errors():
    for bad, match in [
        (dict(kernel_size=1), "kernel_size must be >= 2"),
        (dict(dilations=()), "dilations must be"),
        (dict(dilations=(1, 0)), "dilations must be"),
        (dict(dilations=(1, 2.0)), "dilations must be"),
        (dict(residual_channels=0), "residual_channels must be positive"),
        (dict(n_classes=1), "n_classes must be >= 2"),
        (dict(n_pitches=-1), "n_instruments and n_pitches"),
    ]:
        with pytest.raises(ValueError, match=match):
            WaveNetConfig(**bad)
    assert WaveNetConfig(dilations=[1, 2]).dilations == (1, 2)
    plain, cond = tiny_wavenet(), tiny_wavenet(n_instruments=2, n_pitches=3)
    x = classes(2, 10)
    for call, match in [
        (lambda: plain(x.float()), "mu_law_encode"),
        (lambda: plain(x[0]), r"x\[None\]"),
        (lambda: plain(torch.cat([x, torch.full((2, 1), 256)], 1)), "class 256, outside the model's 0..255"),
        (lambda: plain(x, targets=x[:, 1:]), "targets must have the shape"),
        (lambda: plain(x, instrument=0), "n_instruments=0"),
        (lambda: cond(x, pitch=0), "conditioned on instrument"),
        (lambda: cond(x, instrument=0, pitch=3), "pitch 3 is outside 0..2"),
        (lambda: cond(x, instrument=0.5, pitch=0), "integer ids"),
        (lambda: cond(x, instrument=torch.tensor([0, 1, 1]), pitch=0), r"shape \(B,\) = \(2,\)"),
        (lambda: plain.generate(-1), "n_samples must be"),
        (lambda: plain.generate(3, temperature=-1.0), "temperature"),
        (lambda: plain.generate(3, prime=x[0]), r"prime\[None\]"),
        (lambda: cond.generate(3, prime=x, instrument=torch.tensor([0, 1, 0]), pitch=0), "disagree"),
        (lambda: plain.generate(3, batch_size=0), "batch_size must be"),
        (lambda: cond.generate(3), "conditioned on instrument"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
