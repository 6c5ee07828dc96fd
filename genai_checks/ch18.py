"""Checks for the exercises of chapter 18 (Music as a language)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genai_checks.answers import stored
from genai_checks.core import CheckError, expect, expect_answer, passed

__all__ = [
    "check_voice_tokens",
    "check_voice_tokens_other_low",
    "check_parallel_fifths",
    "check_parallel_fifths_compound",
]

DEFAULT_LOW = 36  # C2, the lowest pitch of the chapter's vocabulary (ChoraleTokenizer's default low)


# ----- Exercise 18.1: the grid tokens of one voice ---------------------------------------------------------


def _voice(events: list[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(pitches (T,) int64, onsets (T,) bool) of a voice given as (pitch or -1 for a rest, steps) events."""
    pitches = torch.cat([torch.full((steps,), pitch, dtype=torch.long) for pitch, steps in events])
    onsets = torch.cat([torch.arange(steps) == 0 for _, steps in events])
    return pitches, onsets


def _random_voice(g: torch.Generator, T: int, low: int, high: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A voice of T steps: notes and rests of 1 to 6 steps, pitches low..high, never two rests in a row."""
    events: list[tuple[int, int]] = []
    total = 0
    while total < T:
        steps = min(int(torch.randint(1, 7, (1,), generator=g)), T - total)
        rest = bool(torch.rand(1, generator=g) < 0.2) and not (events and events[-1][0] == -1)
        events.append((-1 if rest else int(torch.randint(low, high + 1, (1,), generator=g)), steps))
        total += steps
    return _voice(events)


def voice_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    """(what it is, pitches, onsets, low): hand-made voices, then random ones; all with low = 36."""
    g = torch.Generator().manual_seed(18)
    return [
        ("a voice of three notes (C4 for 4 steps, D4 and E4 for 2)", *_voice([(60, 4), (62, 2), (64, 2)]), DEFAULT_LOW),
        ("a voice with a rest of two steps", *_voice([(60, 2), (-1, 2), (67, 3), (65, 1)]), DEFAULT_LOW),
        ("a G4 struck three times", *_voice([(67, 2), (67, 3), (67, 1), (69, 2)]), DEFAULT_LOW),
        (
            "a voice that opens with a rest and sings the lowest and highest pitches (C2 = 36, A5 = 81)",
            *_voice([(-1, 3), (36, 2), (81, 4), (-1, 1), (48, 1)]),
            DEFAULT_LOW,
        ),
        ("a random voice of 16 steps", *_random_voice(g, 16, 55, 79), DEFAULT_LOW),
        ("a random voice of 24 steps", *_random_voice(g, 24, 36, 81), DEFAULT_LOW),
        ("a random voice of 32 steps", *_random_voice(g, 32, 40, 64), DEFAULT_LOW),
    ]


def voice_cases_other_low() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    """(what it is, pitches, onsets, low) for vocabularies whose lowest pitch is not 36."""
    g = torch.Generator().manual_seed(1840)
    return [
        (
            "a voice with low = 40 (E2) that sings E2 itself",
            *_voice([(40, 2), (43, 2), (-1, 2), (47, 3), (40, 1)]),
            40,
        ),
        ("a random voice of 20 steps with low = 40", *_random_voice(g, 20, 40, 70), 40),
        ("a random voice of 20 steps with low = 48 (C3)", *_random_voice(g, 20, 48, 76), 48),
    ]


_IGNORE_ONSETS = (
    "You gave a note's pitch token at every step it sounds. The pitch token appears only where the note "
    "starts (onsets[t] True); at the steps where it goes on sounding the token is <hold>, 2."
)
VOICE_MISTAKES = [  # (the name of a wrong encoding's stored tokens, what it means)
    ("ignore_onsets", _IGNORE_ONSETS),
    ("notes_ignore_onsets", _IGNORE_ONSETS),
    (
        "no_offset",
        "Your note tokens are pitch - low: the ids 0, 1 and 2 belong to <bos>, <rest> and <hold>, so the "
        "pitches come after them: 3 + pitch - low.",
    ),
    (
        "no_low",
        "Your note tokens are 3 + pitch, the MIDI number shifted: subtract low as well, 3 + pitch - low, so "
        "that the lowest pitch of the vocabulary is token 3.",
    ),
    (
        "rest_continuation",
        "You gave <rest> (1) at every silent step. Like a note, a rest is marked only where it starts; while "
        "the silence goes on, the token is <hold>, 2.",
    ),
    (
        "same_pitch",
        "You decided 'hold' by comparing each pitch with the one before. A note struck again at the same pitch "
        "is a new note: it has an onset and gets its pitch token again. Read onsets, not the pitches, to know "
        "where something starts.",
    ),
    ("swapped_specials", "You swapped <rest> and <hold>: <rest> is 1 and <hold> is 2."),
]


def _voice_tokens_of(
    voice_tokens: Callable, what: str, pitches: torch.Tensor, onsets: torch.Tensor, low: int
) -> torch.Tensor:
    """The student's tokens on one voice, checked to be a (T,) int64 tensor."""
    try:
        got = voice_tokens(pitches.clone(), onsets.clone(), low)
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(f"On {what}, voice_tokens raised {type(err).__name__}: {err}") from err
    expect_answer(got, "voice_tokens", "the (T,) tensor of token ids")
    try:
        tokens = torch.as_tensor(got)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckError(f"voice_tokens should return a tensor of token ids, got {type(got).__name__}.") from err
    T = len(pitches)
    if tokens.shape == (T + 1,) and tokens[0] == 0:
        raise CheckError(
            f"On {what} (T = {T} steps), voice_tokens returned {T + 1} tokens, <bos> first: <bos> opens the "
            "sequence of a whole chorale, not each voice. Return the T tokens of the voice only."
        )
    expect(
        tokens.shape == (T,),
        f"On {what} (T = {T} steps), voice_tokens returned shape {tuple(tokens.shape)}, expected ({T},): one "
        "token per grid step.",
    )
    if tokens.is_floating_point():
        raise CheckError(
            f"voice_tokens returned {tokens.dtype} tokens: token ids are integers, int64 (torch.long), as "
            "nn.Embedding and F.cross_entropy expect. Build them from the integer pitches (torch.full_like(pitches, "
            "2) keeps their dtype) or finish with .long()."
        )
    expect(
        tokens.dtype == torch.int64,
        f"voice_tokens returned {tokens.dtype} tokens; token ids are int64 (torch.long): finish with .long().",
    )
    return tokens


def _show(pitches: torch.Tensor, onsets: torch.Tensor, got: torch.Tensor, want: torch.Tensor) -> str:
    return (
        f"\n  pitches:  {pitches.tolist()}\n  onsets:   {onsets.int().tolist()}\n  yours:    {got.tolist()}"
        f"\n  expected: {want.tolist()}"
    )


def check_voice_tokens(voice_tokens: Callable) -> None:
    """Exercise 18.1: the grid tokens of one voice, 3 + pitch - low where a note starts, 1 where a rest starts, 2
    where the voice holds."""
    for i, (what, pitches, onsets, low) in enumerate(voice_cases()):
        tokens = _voice_tokens_of(voice_tokens, what, pitches, onsets, low)
        key = f"voice_tokens/case={i}"
        want = stored("ch18", key)
        if torch.equal(tokens, want):
            continue
        hint = next(
            (msg for name, msg in VOICE_MISTAKES if torch.equal(tokens, stored("ch18", f"{key}/mistake/{name}"))),
            "Where onsets is True the token is 3 + pitch - low for a note and 1 (<rest>) for a rest; everywhere "
            "else it is 2 (<hold>).",
        )
        t = int((tokens != want).nonzero()[0])
        sounds = "a rest" if pitches[t] < 0 else f"pitch {int(pitches[t])}"
        raise CheckError(
            f"On {what} (low = {low}), at step {t} ({sounds}, onset {bool(onsets[t])}) your token is "
            f"{int(tokens[t])}, expected {int(want[t])}. {hint}{_show(pitches, onsets, tokens, want)}"
        )
    passed(
        "voice_tokens gives 3 + pitch - low where a note starts, <rest> (1) where a rest starts and <hold> (2) "
        "while the voice goes on."
    )


def check_voice_tokens_other_low(voice_tokens: Callable) -> None:
    """Exercise 18.1, hidden: vocabularies whose lowest pitch is not the chapter's 36."""
    for i, (what, pitches, onsets, low) in enumerate(voice_cases_other_low()):
        tokens = _voice_tokens_of(voice_tokens, what, pitches, onsets, low)
        want = stored("ch18", f"voice_tokens/hidden/other_low/case={i}")
        if torch.equal(tokens, want):
            continue
        t = int((tokens != want).nonzero()[0])
        hint = (
            f"Your note tokens are off by {low - DEFAULT_LOW}, the distance from 36 to low: use the low that "
            "voice_tokens is given, 3 + pitch - low, not a fixed 36."
            if bool(((tokens - want)[tokens != want] == low - DEFAULT_LOW).all())
            else "A note's token is 3 + pitch - low, with the low passed to voice_tokens."
        )
        raise CheckError(
            f"On {what}, at step {t} your token is {int(tokens[t])}, expected {int(want[t])}. {hint}"
            f"{_show(pitches, onsets, tokens, want)}"
        )
    passed("voice_tokens uses the vocabulary's own lowest pitch, whatever it is.")


# ----- Exercise 18.2: parallel fifths between two voices ---------------------------------------------------

FIFTHS_CASES = [  # (what it is, upper, lower, the mistakes it was built to catch): all fifths simple, 7 semitones
    (
        "a run of parallel fifths, then contrary motion to an octave",
        [67, 69, 71, 72],
        [60, 62, 64, 60],
        ("sonorities", "fifths_anywhere"),
    ),
    ("a fifth held for two sonorities, then moved in parallel", [67, 67, 67, 69], [60, 60, 60, 62], ("held", "wrap")),
    ("contrary motion into a fifth, from a third and back", [65, 67, 65], [62, 60, 62], ("contrary",)),
    (
        "a fifth reached from a sixth in similar motion, then left in contrary motion",
        [69, 71, 69],
        [60, 64, 65],
        ("direct",),
    ),
    (
        "a fifth left for a fourth in similar motion, then regained in oblique motion",
        [67, 69, 71],
        [60, 64, 64],
        ("from_fifth",),
    ),
    ("parallel octaves", [72, 74, 76], [60, 62, 64], ("octaves",)),
    ("parallel fifths into the last sonority", [64, 65, 67, 69], [60, 58, 60, 62], ("missed_last",)),
    ("parallel fifths up and back down", [67, 69, 67], [60, 62, 60], ("missed_last", "sonorities")),
]

FIFTHS_COMPOUND_CASES = [  # (what it is, upper, lower): twelfths, 19 semitones, a fifth plus an octave
    ("parallel twelfths (19 semitones)", [79, 81, 83], [60, 62, 64]),
    ("a fifth that moves to a twelfth, both voices rising", [67, 81], [60, 62]),
    ("a twelfth that moves to a fifth, both voices falling", [79, 65], [60, 58]),
    ("contrary motion from a fifth to a twelfth", [67, 74], [60, 55]),
    ("a twelfth held, then moved in parallel", [79, 79, 77], [60, 60, 58]),
]

FIFTHS_MISTAKES = [  # (the name of a wrong count's stored answers, what it means)
    (
        "held",
        "You counted a fifth that is held or repeated (neither voice moves): that is one fifth sounding on, "
        "not parallel motion. Count a move only if both voices change pitch, in the same direction.",
    ),
    (
        "contrary",
        "You counted a move *into* a fifth in contrary motion (one voice up, the other down) from another "
        "interval. A parallel fifth needs a fifth before the move as well as after it, both voices moving the "
        "same way.",
    ),
    (
        "direct",
        "You counted a fifth reached in similar motion from another interval (here a sixth): that is a direct "
        "(or hidden) fifth, not a parallel one. The interval must be a fifth before the move as well as after it.",
    ),
    (
        "from_fifth",
        "You counted a fifth left in similar motion for another interval (here a fourth): the interval must be "
        "a fifth after the move as well as before it.",
    ),
    (
        "octaves",
        "You counted parallel octaves as fifths. An octave is (upper - lower) % 12 == 0; a fifth is "
        "(upper - lower) % 12 == 7.",
    ),
    (
        "sonorities",
        "Off by one: you counted the sonorities that take part in parallel fifths; count the moves between "
        "them. Three sonorities a fifth apart in parallel motion are two moves, two parallel fifths.",
    ),
    (
        "fifths_anywhere",
        "You counted the sonorities that are fifths. A parallel fifth is a move, from a fifth to a fifth, with "
        "both voices changing pitch in the same direction.",
    ),
    (
        "missed_last",
        "Off by one: you missed the move into the last sonority. N sonorities make N - 1 moves, i-1 -> i for "
        "i = 1, ..., N - 1.",
    ),
    (
        "wrap",
        "Off by one: you compared the last sonority with the first (index i - 1 = -1 when i = 0, or torch.roll). "
        "The moves are i-1 -> i for i = 1, ..., N - 1.",
    ),
]


def _count_of(count_parallel_fifths: Callable, what: str, upper: list[int], lower: list[int]) -> int:
    """The student's count on one pair of voices, checked to be one whole number."""
    u, lo = torch.tensor(upper), torch.tensor(lower)
    try:
        got = count_parallel_fifths(u, lo)
    except (TypeError, ValueError, RuntimeError, IndexError) as err:
        raise CheckError(f"On {what}, count_parallel_fifths raised {type(err).__name__}: {err}") from err
    expect_answer(got, "count_parallel_fifths", "the number of parallel fifths (an int)")
    if isinstance(got, torch.Tensor):
        expect(
            got.numel() == 1,
            f"On {what}, count_parallel_fifths returned a tensor of shape {tuple(got.shape)}: return one count, "
            "the number of moves that are parallel fifths (.sum() of a mask over the moves, or int(...)).",
        )
        if got.dtype == torch.bool:
            raise CheckError("count_parallel_fifths returned a bool: return how many moves are parallel fifths.")
        got = got.item()
    if isinstance(got, bool):
        raise CheckError("count_parallel_fifths returned a bool: return how many moves are parallel fifths.")
    expect(
        isinstance(got, (int, float)),
        f"count_parallel_fifths should return an int (or a 0-d tensor), got {type(got).__name__}.",
    )
    expect(float(got).is_integer(), f"On {what}, count_parallel_fifths returned {got}: a count is a whole number.")
    return int(got)


def _describe(what: str, upper: list[int], lower: list[int]) -> str:
    intervals = [u - lo for u, lo in zip(upper, lower, strict=True)]
    return f"{what} (upper {upper}, lower {lower}, intervals upper - lower {intervals})"


def check_parallel_fifths(count_parallel_fifths: Callable) -> None:
    """Exercise 18.2: the moves in which two voices go the same way from a fifth to a fifth."""
    got = [_count_of(count_parallel_fifths, what, upper, lower) for what, upper, lower, _ in FIFTHS_CASES]
    want = stored("ch18", "parallel_fifths")
    if got == want:
        passed(
            "count_parallel_fifths counts the moves from a fifth to a fifth with both voices going the same way, "
            "and nothing else: held fifths, contrary motion, direct fifths and octaves are left out."
        )
        return
    i = next(i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w)
    wrong = {name: stored("ch18", f"parallel_fifths/mistake/{name}") for name, _ in FIFTHS_MISTAKES}
    # The message of a mistake that gives your counts on every case you got wrong (of those, the one that agrees
    # with you on most cases), else of one that this case was built to catch and that gives your count on it.
    what, upper, lower, catches = FIFTHS_CASES[i]
    wrong_cases = [j for j, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    explains = [
        (sum(a == b for a, b in zip(wrong[name], got, strict=True)), -k, msg)
        for k, (name, msg) in enumerate(FIFTHS_MISTAKES)
        if all(wrong[name][j] == got[j] for j in wrong_cases)
    ]
    designed = [msg for name, msg in FIFTHS_MISTAKES if name in catches and wrong[name][i] == got[i]]
    hint = (
        max(explains)[2]
        if explains
        else designed[0]
        if designed
        else "Count the moves i-1 -> i in which both voices change pitch in the same direction and "
        "(upper - lower) % 12 == 7 both before and after."
    )
    raise CheckError(f"On {_describe(what, upper, lower)}, you counted {got[i]}, expected {want[i]}. {hint}")


def check_parallel_fifths_compound(count_parallel_fifths: Callable) -> None:
    """Exercise 18.2, hidden: compound fifths (twelfths, 19 semitones) count as fifths."""
    want = stored("ch18", "parallel_fifths/hidden/compound")
    for (what, upper, lower), w in zip(FIFTHS_COMPOUND_CASES, want, strict=True):
        got = _count_of(count_parallel_fifths, what, upper, lower)
        hint = (
            "A twelfth (19 semitones) is a fifth plus an octave, a compound fifth, and counts as a fifth: test "
            "(upper - lower) % 12 == 7, not upper - lower == 7."
            if got < w
            else "A move counts only if both voices change pitch in the same direction, from a fifth to a fifth."
        )
        expect(got == w, f"On {_describe(what, upper, lower)}, you counted {got}, expected {w}. {hint}")
    passed("count_parallel_fifths counts compound fifths (twelfths) as fifths too.")
