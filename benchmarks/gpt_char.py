"""Benchmark: a character-level GPT on tinyshakespeare, trained with genai_lib.fit and, side by side in the same
run, with a plain-PyTorch reference of the same model and hyper-parameters; writes validation losses (nats/char),
tokens/s, wall times, their ratio and (on a GPU) MFU to results/.

The named configurations are nanoGPT's published character-level runs (Karpathy, nanoGPT,
config/train_shakespeare_char.py): `nanogpt-cpu` is its CPU run (reported validation loss 1.88 after 2,000
iterations) and `shakespeare-char` its GPU run (1.4697 after 5,000). The reference below is a minimal model and
loop written for this benchmark; it starts from the same initial weights and draws the same batches as ours, so
the two losses should agree closely and the time ratio compares the trainers, not the luck of the draw.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from common import parser as cli_parser
from common import provenance, save_result
from torch import nn

import genai_lib as gl  # first: it makes OpenMP threads sleep, not spin, on a shared CPU (before torch loads)
from genai_lib import optim, probe
from genai_lib.data import CharTokenizer, SequenceBatches, load_text, train_val_split
from genai_lib.device import autocast, describe, maybe_compile, precision_for, unwrap
from genai_lib.models.gpt import GPT, GPTConfig, evaluate_loss, lm_step

# nanoGPT's two character-level runs. warmup_iters=100 comes from its config file, which both runs load.
CONFIGS = {
    "nanogpt-cpu": dict(
        n_layer=4,
        n_head=4,
        n_embd=128,
        block_size=64,
        batch_size=12,
        dropout=0.0,
        bias=False,
        max_iters=2000,
        lr=1e-3,
        min_lr=1e-4,
        warmup_iters=100,
        lr_decay_iters=2000,
        beta1=0.9,
        beta2=0.99,
        weight_decay=0.1,
        grad_clip=1.0,
        eval_iters=20,
        precise_eval_iters=200,
        compile=False,
    ),
    "shakespeare-char": dict(
        n_layer=6,
        n_head=6,
        n_embd=384,
        block_size=256,
        batch_size=64,
        dropout=0.2,
        bias=False,
        max_iters=5000,
        lr=1e-3,
        min_lr=1e-4,
        warmup_iters=100,
        lr_decay_iters=5000,
        beta1=0.9,
        beta2=0.99,
        weight_decay=0.1,
        grad_clip=1.0,
        eval_iters=200,
        precise_eval_iters=200,
        compile=True,
    ),
}
# What each budget changes. smoke: a few steps of a tiny model, so the test suite runs it in seconds.
SMOKE = dict(
    n_layer=2,
    n_head=2,
    n_embd=32,
    block_size=32,
    batch_size=4,
    max_iters=20,
    warmup_iters=2,
    lr_decay_iters=20,
    eval_iters=2,
    precise_eval_iters=4,
    compile=False,
)
BUDGETS = {
    "nanogpt-cpu": dict(smoke=SMOKE, standard={}, full={}),  # the published CPU run is short: standard = full
    "shakespeare-char": dict(smoke=SMOKE, standard=dict(max_iters=500, warmup_iters=10, lr_decay_iters=500), full={}),
}
PUBLISHED_VAL_LOSS = {"nanogpt-cpu": 1.88, "shakespeare-char": 1.4697}
# Dense bf16 peak FLOP/s by GPU name (vendor data sheets), for MFU; --peak-flops overrides.
PEAK_BF16_FLOPS = {
    "H100 80GB HBM3": 989e12,
    "H100 SXM": 989e12,
    "H200": 989e12,
    "H100 PCIe": 756e12,
    "H100 NVL": 835e12,
    "A100": 312e12,
    "L4": 121e12,
    "A10G": 70e12,
}
EVAL_SEED = 1234  # the validation batches: the same ones for both models


def lr_at(it: int, c) -> float:
    """Linear warm-up over warmup_iters, then a half cosine from lr down to min_lr at lr_decay_iters, then flat."""
    if it < c.warmup_iters:
        return c.lr * (it + 1) / (c.warmup_iters + 1)
    if it >= c.lr_decay_iters:
        return c.min_lr
    progress = (it - c.warmup_iters) / (c.lr_decay_iters - c.warmup_iters)  # 0 -> 1
    return c.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (c.lr - c.min_lr)


def adamw(model: nn.Module, c, device: torch.device) -> torch.optim.AdamW:
    """genai_lib's AdamW (decay on matrices only) with this config's settings; fused kernels on CUDA."""
    return optim.adamw(
        model, lr=c.lr, weight_decay=c.weight_decay, betas=(c.beta1, c.beta2), fused=device.type == "cuda"
    )


# ----- the plain-PyTorch reference: the same architecture, written out in one screen ------------------------


class RefBlock(nn.Module):
    def __init__(self, c, n_embd: int) -> None:
        super().__init__()
        self.n_head, self.p = c.n_head, c.dropout
        self.ln1 = nn.LayerNorm(n_embd, bias=c.bias)
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=c.bias)
        self.out = nn.Linear(n_embd, n_embd, bias=c.bias)
        self.ln2 = nn.LayerNorm(n_embd, bias=c.bias)
        self.up = nn.Linear(n_embd, 4 * n_embd, bias=c.bias)
        self.down = nn.Linear(4 * n_embd, n_embd, bias=c.bias)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        heads = self.qkv(self.ln1(x)).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(
            heads[0], heads[1], heads[2], is_causal=True, dropout_p=self.p if self.training else 0.0
        )
        x = x + self.drop(self.out(a.transpose(1, 2).reshape(B, T, C)))
        return x + self.drop(self.down(F.gelu(self.up(self.ln2(x)))))


class RefGPT(nn.Module):
    def __init__(self, c, vocab_size: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.block_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(RefBlock(c, c.n_embd) for _ in range(c.n_layer))
        self.ln = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.lm_head = nn.Linear(c.n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        x = self.drop(self.wte(idx) + self.wpe.weight[: idx.size(1)])
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    @torch.no_grad()
    def copy_from(self, gpt: GPT) -> RefGPT:
        """Take genai_lib GPT's weights, so both runs start from the same point."""
        self.wte.weight.copy_(gpt.tok_emb.weight)
        self.wpe.weight.copy_(gpt.pos_emb.weight)
        pairs = [
            ("ln_1", "ln1"),
            ("attn.qkv", "qkv"),
            ("attn.proj", "out"),
            ("ln_2", "ln2"),
            ("mlp.fc", "up"),
            ("mlp.proj", "down"),
        ]
        for ours, ref in zip(gpt.blocks, self.blocks, strict=True):
            for a, b in pairs:
                src, dst = ours.get_submodule(a), ref.get_submodule(b)
                dst.weight.copy_(src.weight)
                if dst.bias is not None:
                    dst.bias.copy_(src.bias)
        self.ln.weight.copy_(gpt.ln_f.weight)
        if self.ln.bias is not None:
            self.ln.bias.copy_(gpt.ln_f.bias)
        return self


class RefTrainer:
    """nanoGPT-style loop: sample a batch, set the lr, forward under autocast, backward, clip, step."""

    def __init__(self, model: nn.Module, c, train: torch.Tensor, device: torch.device, precision, seed: int) -> None:
        self.model, self.c, self.train, self.device, self.precision = model, c, train, device, precision
        self.opt = adamw(model, c, device)
        self.gen = torch.Generator().manual_seed(seed)  # same draws as SequenceBatches with this seed
        self.it = 0

    def get_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        T = self.c.block_size
        starts = torch.randint(len(self.train) - T, (self.c.batch_size,), generator=self.gen).tolist()
        x = torch.stack([self.train[i : i + T] for i in starts])
        y = torch.stack([self.train[i + 1 : i + 1 + T] for i in starts])
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def run(self, n: int) -> None:
        self.model.train()
        total = torch.zeros((), device=self.device)
        # Under $GENAI_PROBE the reference is timed as `fit` times ours: a few steps, recorded (genai_lib.probe).
        timer = probe.Probe(self.it, self.it + n, self.device, self.precision) if probe.active() else None
        if timer is not None:
            n = timer.end - timer.start
        for _ in range(n):
            with timer.around(self.it) if timer is not None else contextlib.nullcontext():
                self.step()
            total += self.last_loss
        self.mean_loss = total.item() / max(n, 1)  # the chunk's mean training loss, as fit logs it
        if timer is not None:
            timer.record({"reference": self.model})

    def step(self) -> None:
        """One iteration of the plain loop."""
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.it, self.c)
        x, y = self.get_batch()
        with autocast(self.device, self.precision):
            _, loss = self.model(x, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.c.grad_clip)
        self.opt.step()
        self.it += 1
        self.last_loss = loss.detach().float()


# ----- the benchmark ---------------------------------------------------------------------------------------------


def config_for(name: str, budget: str) -> gl.config.Params:
    if name not in CONFIGS:
        raise ValueError(f"Unknown config {name!r}; choose one of {', '.join(CONFIGS)}.")
    return gl.config.Params(**{**CONFIGS[name], **BUDGETS[name][budget]})


def peak_flops_for(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


def run(
    config: str,
    budget: str,
    out_dir: Path,
    *,
    reference: bool = True,
    chunk: int = 50,
    corpus: str = "tinyshakespeare",
    peak_flops: float | None = None,
    seed: int = 0,
    init_std: float | None = None,
) -> dict:
    """Train `config` at `budget` with genai_lib (and the reference, alternating chunks of `chunk` iterations)."""
    c = config_for(config, budget)
    session = gl.setup(seed=seed)
    dev = session.device
    precision = precision_for(dev)
    text = load_text(corpus)
    tok = CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text), dtype=torch.long)
    train, val = train_val_split(data, 0.1)  # nanoGPT: the first 90% for training, the last 10% for validation
    print(
        f"{config} / {budget}: {len(train):,} training and {len(val):,} validation characters, "
        f"vocabulary {tok.vocab_size}; {c.max_iters} iterations of {c.batch_size} x {c.block_size} tokens on "
        f"{describe(dev)} in {precision.name}{' with torch.compile' if c.compile and dev.type == 'cuda' else ''}",
        flush=True,
    )

    ours = GPT(
        GPTConfig(
            vocab_size=tok.vocab_size,
            block_size=c.block_size,
            n_layer=c.n_layer,
            n_head=c.n_head,
            n_embd=c.n_embd,
            dropout=c.dropout,
            bias=c.bias,
            init_std=init_std,
        )
    ).to(dev)
    use_compile = bool(c.compile) and dev.type == "cuda"
    model = maybe_compile(ours, use_compile)
    optimizer = adamw(ours, c, dev)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: lr_at(it, c) / c.lr)
    batches = SequenceBatches(train, block_size=c.block_size, batch_size=c.batch_size, seed=seed)
    step = lm_step(model)

    ref_trainer = None
    if reference:
        ref = RefGPT(c, tok.vocab_size).copy_from(ours).to(dev)
        ref_trainer = RefTrainer(maybe_compile(ref, use_compile), c, train, dev, precision, seed=seed)
        # copy_from makes them one model: check it (in eval mode: no dropout), so a mismatch cannot pass as a
        # speed-up. Both are put back in training mode by their loops.
        with torch.no_grad():
            x, y = next(SequenceBatches(val, block_size=c.block_size, batch_size=2, seed=EVAL_SEED))
            x, y = x.to(dev), y.to(dev)
            same = torch.allclose(ours.eval()(x, y)[0], ref.eval()(x, y)[0], atol=1e-4, rtol=1e-4)
        if not same:
            raise RuntimeError("The reference model does not compute the same function as genai_lib's GPT.")
    if dev.type == "cuda":  # TF32 for what autocast leaves in fp32, as nanoGPT does (after the fp32 check above)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    times = {"ours": [], "reference": []}
    loads = []
    losses = {"ours": [], "reference": []}
    start, done, k = time.perf_counter(), 0, 0
    if probe.active():
        chunk = c.max_iters  # one call each, which the probe cuts short to a few timed steps
    while done < c.max_iters:
        n = min(chunk, c.max_iters - done)
        order = ["ours", "reference"] if k % 2 == 0 else ["reference", "ours"]  # ABBA: neither always goes first
        for who in order:
            if who == "reference" and ref_trainer is None:
                continue
            sync()
            t = time.perf_counter()
            if who == "ours":
                with contextlib.redirect_stdout(io.StringIO()):  # fit's summary line, once per chunk: noise here
                    history = gl.fit(
                        step,
                        models=model,
                        optimizers=optimizer,
                        schedulers=scheduler,
                        data=batches,
                        config=gl.TrainConfig(
                            steps=n, grad_clip=c.grad_clip, log_every=n, progress=False, device=str(dev)
                        ),
                    )
                train_loss = history.last("loss")
            else:
                ref_trainer.run(n)
                train_loss = ref_trainer.mean_loss
            sync()
            times[who].append(time.perf_counter() - t)
            losses[who].append(round(train_loss, 4))
        loads.append(os.getloadavg()[0])
        done, k = done + n, k + 1
        rates = "  ".join(f"{who} {losses[who][-1]:.4f} ({sum(times[who]):.1f} s)" for who in times if times[who])
        tps = n * c.batch_size * c.block_size / times["ours"][-1]
        print(
            f"iter {done:>5}/{c.max_iters}  mean train loss of the chunk (time so far)  {rates}  |  ours "
            f"{tps:,.0f} tokens/s  load {loads[-1]:.2f}",
            flush=True,
        )

    if probe.skips_evaluation():  # a CPU step-time probe measures the training only (genai_lib.probe)
        return {}

    def val_losses(m: nn.Module) -> dict:
        """nanoGPT's protocol (the mean over eval_iters random validation batches), repeated on fresh batches up
        to precise_eval_iters: the first repeat, the mean of all (less noisy) and the range (the protocol's noise)."""
        batches = SequenceBatches(val, block_size=c.block_size, batch_size=c.batch_size, seed=EVAL_SEED)
        n = max(1, c.precise_eval_iters // c.eval_iters)
        with autocast(dev, precision):
            groups = [evaluate_loss(m, batches, c.eval_iters) for _ in range(n)]
        return {
            f"val_loss_{c.eval_iters}_batches": round(groups[0], 4),
            f"val_loss_{n * c.eval_iters}_batches": round(sum(groups) / n, 4),
            f"val_loss_{c.eval_iters}_batches_range_over_{n}_draws": [round(min(groups), 4), round(max(groups), 4)],
        }

    tokens = c.max_iters * c.batch_size * c.block_size
    seconds = sum(times["ours"])
    # Steady-state speed leaves out the first chunk (torch.compile, warm-up) when there is more than one.
    if len(times["ours"]) > 1:
        steady_tps = (c.max_iters - chunk) * c.batch_size * c.block_size / sum(times["ours"][1:])
    else:
        steady_tps = tokens / seconds
    peak = peak_flops or peak_flops_for(dev)
    published = PUBLISHED_VAL_LOSS[config] if c.max_iters == CONFIGS[config]["max_iters"] else None
    ours_losses = val_losses(model)
    result = {
        "benchmark": "gpt_char",
        "config_name": config,
        "budget": budget,
        **provenance(dev, precision),
        "compiled": use_compile,
        "data": f"{corpus}: {len(train):,} train / {len(val):,} val characters (first 90% / last 10%)",
        "config": c.as_dict(),
        "seed": seed,
        "vocab_size": tok.vocab_size,
        "params": ours.num_params(),
        "init_std": round(ours.config.sigma, 5),  # genai_lib's 1/sqrt(3C) unless --init-std (nanoGPT: 0.02)
        "interleaved_chunk_iters": chunk,
        "wall_seconds": None,  # filled in below
        "train_seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / seconds, 1),
        "tokens_per_second_steady": round(steady_tps, 1),
        "mfu": round(unwrap(model).estimate_mfu(tokens_per_second=steady_tps, peak_flops=peak), 4) if peak else None,
        "peak_flops": peak,
        **ours_losses,
        # nanoGPT's number after the same iterations, on its protocol (eval_iters random validation batches)
        "published_val_loss": published,
        "meets_published_val_loss": None
        if published is None
        else ours_losses[f"val_loss_{c.eval_iters}_batches"] <= published,
        "train_loss_per_chunk": losses["ours"],
        "load_average_1min": {
            "mean": round(sum(loads) / len(loads), 2),
            "min": round(min(loads), 2),
            "max": round(max(loads), 2),
        },
    }
    if ref_trainer is not None:
        ref_seconds = sum(times["reference"])
        result["reference"] = {
            "train_seconds": round(ref_seconds, 2),
            "tokens_per_second": round(tokens / ref_seconds, 1),
            **val_losses(ref_trainer.model),
            "train_loss_per_chunk": losses["reference"],
        }
        # On a shared machine a burst of load can land on either run's turn; the median of the paired chunk
        # ratios is robust to it, the ratio of the sums less so.
        ratios = [a / b for a, b in zip(times["ours"], times["reference"], strict=True)]
        result["time_ratio_ours_over_reference"] = round(seconds / ref_seconds, 3)
        result["time_ratio_median_of_chunks"] = round(statistics.median(ratios), 3)
        result["chunk_seconds"] = {who: [round(t, 3) for t in ts] for who, ts in times.items()}
    result["wall_seconds"] = round(time.perf_counter() - start, 2)
    shown = {
        k: ({kk: vv for kk, vv in v.items() if "chunk" not in kk} if k == "reference" else v)
        for k, v in result.items()
        if "chunk" not in k
    }
    name = f"gpt_char-{config}-{budget}-{dev.type}{f'-seed{seed}' if seed else ''}"
    save_result(result, out_dir, name + (f"-init{init_std:g}" if init_std is not None else ""), shown=shown)
    return result


if __name__ == "__main__":
    parser = cli_parser(__doc__)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="nanogpt-cpu")
    parser.add_argument("--no-reference", action="store_true", help="train genai_lib's GPT only")
    parser.add_argument("--chunk", type=int, default=50, help="iterations per turn when alternating the two runs")
    parser.add_argument("--peak-flops", type=float, default=None, help="the GPU's dense bf16 peak FLOP/s, for MFU")
    parser.add_argument("--seed", type=int, default=0, help="initial weights and training batches")
    parser.add_argument(
        "--init-std",
        type=float,
        default=None,
        help="σ of the initial weights (default: genai_lib's 1/sqrt(3C); 0.02 is nanoGPT's)",
    )
    args = parser.parse_args()
    run(
        args.config,
        args.budget or gl.get_budget(),
        args.out,
        reference=not args.no_reference,
        chunk=args.chunk,
        peak_flops=args.peak_flops,
        seed=args.seed,
        init_std=args.init_std,
    )
