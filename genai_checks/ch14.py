"""Checks for the exercises of chapter 14 (The autoregressive road to text-to-image)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, expect_close, passed

__all__ = ["check_ar_sequences", "check_guided_logits", "check_guided_logits_masked", "check_positions_processed"]

IGNORE = -100


# ----- Exercise 14.1: the (input, target) sequences -----------------------------------------------------------


def sequence_case() -> tuple[torch.Tensor, torch.Tensor, int]:
    """Three captions (B, S) = (3, 6), padded, their (B, h, w) = (3, 2, 3) code grids and the offset 11."""
    g = torch.Generator().manual_seed(14)
    ids = torch.zeros(3, 6, dtype=torch.long)
    ids[:, 0] = 1  # <bos>
    for i, n in enumerate((4, 2, 5)):  # words, then <pad> = 0
        ids[i, 1 : n + 1] = torch.randint(2, 11, (n,), generator=g)
    tokens = torch.randint(0, 16, (3, 2, 3), generator=g)  # (B, h, w) code grids
    return ids, tokens, 11


def check_ar_sequences(make_sequences: Callable[..., tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Exercise 14.1: inputs and targets (B, S + h·w − 1) of the caption-then-image GPT."""
    ids, tokens, offset = sequence_case()
    result = make_sequences(ids.clone(), tokens.clone(), offset, IGNORE)
    expect_answer(result, "make_sequences", "a pair (inputs, targets)")
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"make_sequences should return a pair (inputs, targets), got {type(result).__name__}.",
    )
    x, y = (torch.as_tensor(t) for t in result)
    ref_x, ref_y = stored("ch14", "ar_sequences/inputs"), stored("ch14", "ar_sequences/targets")
    B, S = ids.shape
    n = tokens[0].numel()
    full = S + n
    for name, got in (("inputs", x), ("targets", y)):
        if got.shape == (B, full):
            raise CheckError(
                f"Your {name} have length S + h·w = {full}; they should have {full - 1}. The inputs drop "
                "the last token (nothing is predicted after it) and the targets drop the first "
                "(nothing predicts <bos>): inputs = seq[:, :-1], targets = seq[:, 1:]."
            )
        expect(
            got.shape == ref_x.shape,
            f"Your {name} have shape {tuple(got.shape)}, expected "
            f"{tuple(ref_x.shape)} = (B, S + h·w − 1) with S = {S} caption tokens and h·w = {n} image tokens.",
        )
    if torch.equal(x, stored("ch14", "ar_sequences/inputs/without_offset")):
        raise CheckError(
            "Your inputs hold the raw code ids 0..K−1, which collide with the caption's word ids: "
            f"add the offset (here {offset}, the caption vocabulary size) to every image token."
        )
    if torch.equal(x, stored("ch14", "ar_sequences/inputs/column_order")):
        raise CheckError(
            "Your image tokens are in column order; flatten the (h, w) grid row by row "
            "(tokens.flatten(1) or tokens.reshape(B, -1)): raster order is left to right, top to bottom."
        )
    expect(
        torch.equal(x.long(), ref_x),
        "Your inputs differ from [caption ids, image tokens + offset] without its last token. Concatenate "
        "ids (B, S) and tokens.flatten(1) + offset (B, h·w) along dim=1, then drop the last column.",
    )
    if torch.equal(y, ref_x):
        raise CheckError(
            "Your targets equal your inputs: the target at position t is the token at t + 1, targets = seq[:, 1:]."
        )
    if torch.equal(y, stored("ch14", "ar_sequences/targets/unmasked")):
        raise CheckError(
            f"Your targets include the caption's words: set the first S − 1 = {S - 1} targets to "
            f"ignore_index ({IGNORE}), so that the loss counts image tokens only."
        )
    if torch.equal(y, stored("ch14", "ar_sequences/targets/without_offset")):
        raise CheckError(
            f"Your targets are the raw code ids: they need the same offset ({offset}) as the inputs, "
            "since the logits are over the joint vocabulary."
        )
    if torch.equal(y, stored("ch14", "ar_sequences/targets/one_too_many_ignored")):
        raise CheckError(
            f"You ignored {S} targets, one too many: the target at position S − 1 (the last caption "
            "token) is the FIRST image token, and it must be predicted. Ignore targets[:, :S-1]."
        )
    if torch.equal(y, stored("ch14", "ar_sequences/targets/one_too_few_ignored")):
        raise CheckError(
            f"You ignored only {S - 2} targets: the target at position S − 2 is the last caption "
            "token, not an image token. Ignore targets[:, :S-1]."
        )
    expect(
        torch.equal(y.long(), ref_y),
        "Your targets differ from seq[:, 1:] with the first S − 1 positions set to ignore_index.",
    )
    passed("inputs are [caption, image tokens + offset][:-1]; targets are shifted by one, captions ignored.")


# ----- Exercise 14.2: classifier-free guidance on logits ------------------------------------------------------

GUIDANCE_SCALES = (3.0, 1.0, 0.0, 1.5)  # the values of w the check tries, in order
MASKED = -1e4  # the logit of a code that may not be drawn


def logits_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Conditional and unconditional logits (N, K) = (4, 10): (cond, uncond)."""
    g = torch.Generator().manual_seed(2)
    return torch.randn(4, 10, generator=g, dtype=torch.float64), torch.randn(4, 10, generator=g, dtype=torch.float64)


def _guided(guided_logits: Callable, cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    """The student's guided logits at w, as float64, after the checks of type and shape both checks share."""
    got = guided_logits(cond.clone(), uncond.clone(), w)
    expect_answer(got, "guided_logits", "the guided logits (N, K)")
    got = torch.as_tensor(got, dtype=torch.float64)
    expect(
        got.shape == cond.shape,
        f"guided_logits returned shape {tuple(got.shape)}, expected "
        f"{tuple(cond.shape)}: one row of K logits per sample, like cond and uncond.",
    )
    return got


def check_guided_logits(guided_logits: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 14.2: l_∅ + w (l_c − l_∅), the guided logits of one sampling step."""
    cond, uncond = logits_case()
    for w in GUIDANCE_SCALES:
        got = _guided(guided_logits, cond, uncond, w)
        key = f"guided_logits/w={w}"
        probs, want_probs = got.softmax(-1), stored("ch14", f"{key}/probs")
        if torch.allclose(probs, want_probs, atol=1e-6):
            continue  # logits or log-probabilities: both give the same distribution
        if torch.allclose(probs, stored("ch14", f"{key}/swapped_probs"), atol=1e-6):
            raise CheckError(
                f"At w = {w}, you moved from the conditional logits towards the unconditional ones: "
                "swap them, l_∅ + w (l_c − l_∅)."
            )
        if torch.allclose(probs, stored("ch14", f"{key}/paper_probs"), atol=1e-6):
            raise CheckError(
                f"At w = {w}, you used (1 + w): that is the convention of Ho and Salimans' paper. Here "
                "w = 1 must give the conditional model: l_∅ + w (l_c − l_∅)."
            )
        if torch.allclose(got, stored("ch14", f"{key}/mixed_probs"), atol=1e-6) or torch.allclose(
            got, stored("ch14", f"{key}/log_mixed_probs"), atol=1e-6
        ):
            raise CheckError(
                f"At w = {w}, you combined probabilities; guidance combines logits (or "
                "log-probabilities), which multiplies the distributions: p_∅^(1−w) p_c^w."
            )
        if torch.allclose(probs, stored("ch14", f"{key}/temperature_probs"), atol=1e-6):
            raise CheckError(
                f"At w = {w}, your logits are w · l_c: that is a temperature 1/w on the conditional "
                "model, not guidance. Subtract the unconditional logits: l_∅ + w (l_c − l_∅)."
            )
        expect_close(
            probs,
            want_probs,
            what=f"softmax of your guided logits at w = {w}",
            atol=1e-6,
            hint="Guided logits are l_∅ + w (l_c − l_∅).",
        )
    passed("guided logits l_∅ + w (l_c − l_∅): w = 0 is unconditional, w = 1 conditional, w > 1 beyond it.")


def masked_logits_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 logits (N, K) = (3, 12) over a joint vocabulary whose first 4 entries (caption words) are masked."""
    g = torch.Generator().manual_seed(21)
    cond, uncond = (torch.randn(3, 12, generator=g) * 3 for _ in range(2))
    cond[:, :4] = uncond[:, :4] = MASKED  # no image token may be a word: both models give them -1e4
    return cond, uncond


def check_guided_logits_masked(guided_logits: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Exercise 14.2, hidden: float32 logits with masked entries (-1e4), whose probabilities underflow to 0."""
    cond, uncond = masked_logits_case()
    for w in GUIDANCE_SCALES:
        got = _guided(guided_logits, cond, uncond, w)
        expect(
            bool(torch.isfinite(got).all()),
            f"At w = {w}, on logits whose masked entries are {MASKED:g}, your guided logits contain NaN or "
            "infinity. Did you take the log of softmax probabilities? exp(-1e4) underflows to 0 and log 0 = -inf; "
            "combine the logits themselves, l_∅ + w (l_c − l_∅) (or their log_softmax, which stays finite).",
        )
        expect_close(
            got.softmax(-1),
            stored("ch14", f"guided_logits/hidden/masked/w={w}"),
            what=f"softmax of your guided logits at w = {w}, on float32 logits with masked entries",
            atol=1e-5,
            hint="Guided logits are l_∅ + w (l_c − l_∅), and a masked code must keep probability 0.",
        )
    passed("guided_logits stays finite on masked logits, whose probabilities underflow to 0.")


# ----- Exercise 14.3: the cost of sampling without and with a cache ------------------------------------------

POSITION_CASES = ((13, 64), (1, 1), (5, 16), (77, 1024))  # (S caption tokens, n image tokens)


def check_positions_processed(positions_processed: Callable[[int, int, bool], int]) -> None:
    """Exercise 14.3: token positions the GPT computes to write n image tokens after an S-token caption."""
    for S, n in POSITION_CASES:
        for cache in (False, True):
            got = positions_processed(S, n, cache)
            expect_answer(got, "positions_processed", "an integer")
            key = f"positions/S={S},n={n}"
            want = stored("ch14", f"{key}/cache" if cache else f"{key}/no_cache")
            if isinstance(got, (int, float, torch.Tensor)) and int(got) == want:
                continue
            if not cache and got == stored("ch14", f"{key}/no_cache/one_more_per_pass"):
                raise CheckError(
                    f"For S = {S}, n = {n} without a cache you counted {got}, one position too many per "
                    "pass: the last pass reads S + n − 1 tokens (the n-th image token is its output, "
                    "never an input)."
                )
            if not cache and got in stored("ch14", f"{key}/no_cache/without_caption"):
                raise CheckError(
                    f"For S = {S}, n = {n} without a cache you forgot the caption: every pass re-reads "
                    f"the S = {S} caption tokens too."
                )
            if not cache and got == stored("ch14", f"{key}/no_cache/rectangle"):
                raise CheckError(
                    f"For S = {S}, n = {n} without a cache you charged every pass for the longest "
                    "prefix; pass t reads S + t tokens (t = 0, ..., n − 1), a triangle, not a rectangle."
                )
            if cache and got == stored("ch14", f"{key}/cache/last_fed_back"):
                raise CheckError(
                    f"For S = {S}, n = {n} with a cache you counted {got}: the last image token is "
                    "sampled but never fed back, so the total is S + n − 1."
                )
            if cache and got == stored("ch14", f"{key}/cache/no_first_pass"):
                raise CheckError(
                    f"For S = {S}, n = {n} with a cache you forgot the first pass, which reads the whole "
                    f"caption (S = {S} positions)."
                )
            expect(
                int(got) == want,
                f"For S = {S}, n = {n}, kv_cache={cache}, you counted {got}; expected {want}. "
                "Without a cache pass t reads S + t positions; with one, the first pass reads S and each later "
                "pass one new position.",
            )
    passed("without a cache n·S + n(n−1)/2 positions, with one S + n − 1: quadratic against linear in n.")
