"""Four-part Bach chorales from the corpus shipped inside music21, as pitches on a sixteenth-note grid.

A chorale becomes two (4, T) tensors, voices in the order soprano, alto, tenor, bass and one column per
grid step: the MIDI pitch sounding at that step (-1 for a rest) and whether a note or rest starts there.
music21 is imported only to parse the corpus, once; the result is cached as plain tensors. The splits
keep every harmonisation of one hymn tune together, so the held-out chorales have melodies the model
never trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from fractions import Fraction
from itertools import combinations
from pathlib import Path
from typing import Any

import torch

from genai_lib.checkpoint import atomic_save
from genai_lib.data.download import cache_dir

PARSER_VERSION = 1  # bump when the parsing below changes, so old caches are not reused
STEPS_PER_QUARTER = 4  # sixteenth notes
VOICES = ("soprano", "alto", "tenor", "bass")
REST = -1
PITCH_LOW, PITCH_HIGH = 36, 81  # C2..A5, the default pitch range of ChoraleTokenizer
SPLITS = ("train", "valid", "test", "all")
SPLIT_SHARES = {"train": 0.8, "valid": 0.1}  # the rest is "test"
TUNE_SIMILARITY = 0.75  # melodies this alike (difflib ratio) are one hymn tune: see tune_keys
TUNE_INTERVALS = 12  # a tune key spells the first 12 intervals of the melody
SCORE_SUFFIXES = (".mxl", ".musicxml", ".xml", ".krn")  # preferred first when a chorale is in two formats


@dataclass(frozen=True, eq=False)  # eq=False: tensors have no single truth value, so compare fields yourself
class Chorale:
    """One four-part chorale on a time grid: pitches (4, T) MIDI or -1 for a rest, onsets (4, T) bool."""

    name: str
    pitches: torch.Tensor
    onsets: torch.Tensor
    steps_per_quarter: int = STEPS_PER_QUARTER
    beats_per_bar: int = 4  # the numerator of the (first) time signature
    tune: str = ""  # the key of its hymn tune, shared by every harmonisation of the tune (see tune_keys)

    def __post_init__(self) -> None:
        p, o = self.pitches, self.onsets
        if p.ndim != 2 or p.shape[0] != 4 or p.shape != o.shape or p.shape[1] == 0:
            raise ValueError(
                f"A chorale needs pitches and onsets of the same shape (4, T) with T >= 1 (soprano, alto, tenor, "
                f"bass), got {tuple(p.shape)} and {tuple(o.shape)}."
            )
        if p.dtype != torch.int64 or o.dtype != torch.bool:
            raise ValueError(f"pitches must be int64 and onsets bool, got {p.dtype} and {o.dtype}.")
        if not o[:, 0].all():
            raise ValueError("Every voice must start with a note or a rest: onsets[:, 0] must all be True.")
        if (p[:, 1:] != p[:, :-1]).logical_and(~o[:, 1:]).any():
            raise ValueError("A voice changes pitch without an onset; set onsets True wherever a new note starts.")

    @property
    def n_steps(self) -> int:
        return self.pitches.shape[1]


def transpose(chorale: Chorale, k: int, *, low: int = PITCH_LOW, high: int = PITCH_HIGH) -> Chorale | None:
    """The chorale shifted by k semitones (rests stay rests), or None if a pitch would leave low..high."""
    sounding = chorale.pitches != REST
    shifted = torch.where(sounding, chorale.pitches + k, chorale.pitches)
    if sounding.any() and (shifted[sounding].min() < low or shifted[sounding].max() > high):
        return None
    return replace(chorale, pitches=shifted)


def melody(pitches: torch.Tensor, steps_per_quarter: int = STEPS_PER_QUARTER) -> list[int]:
    """The soprano's tune in any key: intervals between the pitches it sings on the beats, repeats merged."""
    on_beats = pitches[0, ::steps_per_quarter].tolist()  # passing notes between the beats drop out
    notes: list[int] = []
    for p in on_beats:
        if p != REST and (not notes or notes[-1] != p):  # a held or repeated note counts once
            notes.append(p)
    return [b - a for a, b in zip(notes, notes[1:], strict=False)]


def tune_keys(melodies: list[list[int]], *, threshold: float = TUNE_SIMILARITY) -> list[str]:
    """One key per melody, shared by melodies that match (difflib ratio >= threshold), linked transitively.

    Harmonisations of one hymn tune differ in key, ornaments, rhythm and a note here and there, so equal
    openings are not enough: two settings of "Vater unser im Himmelreich" begin differently.
    """
    group = list(range(len(melodies)))  # union-find: each melody points towards its group's root

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in combinations(range(len(melodies)), 2):
        match = SequenceMatcher(None, melodies[i], melodies[j], autojunk=False)
        # The quick ratios are upper bounds of ratio(): they skip the slow exact match for most pairs.
        if match.real_quick_ratio() >= threshold and match.quick_ratio() >= threshold and match.ratio() >= threshold:
            group[root(i)] = root(j)
    first: dict[int, int] = {}  # a group's key is the opening of its first member's melody
    for i in range(len(melodies)):
        first.setdefault(root(i), i)
    return [",".join(str(x) for x in melodies[first[root(i)]][:TUNE_INTERVALS]) for i in range(len(melodies))]


def split_of(tune: str) -> str:
    """'train', 'valid' or 'test' for a tune key: a fixed hash, so a tune's harmonisations share a split."""
    u = int(hashlib.sha256(tune.encode()).hexdigest()[:8], 16) / 16**8  # uniform in [0, 1)
    if u < SPLIT_SHARES["train"]:
        return "train"
    return "valid" if u < SPLIT_SHARES["train"] + SPLIT_SHARES["valid"] else "test"


def load_chorales(split: str = "train", *, limit: int | None = None) -> list[Chorale]:
    """The Bach chorales of one split ('train', 'valid', 'test' ~ 80/10/10 by tune, or 'all'), by file name.

    `limit` parses only the first `limit` corpus files (in sorted order), for quick runs.
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    chorales = [
        Chorale(
            name=c["name"],
            pitches=c["pitches"].long(),
            onsets=c["onsets"],
            steps_per_quarter=c["steps_per_quarter"],
            beats_per_bar=c["beats_per_bar"],
            tune=c["tune"],
        )
        for c in _parsed(limit)["chorales"]
    ]
    return chorales if split == "all" else [c for c in chorales if split_of(c.tune) == split]


def chorale_report(*, limit: int | None = None) -> dict[str, int]:
    """How many corpus files were kept as chorales, and why the others were dropped."""
    return dict(_parsed(limit)["report"])


def _music21() -> Any:
    try:
        import music21
    except ImportError as err:
        raise ImportError(
            "The Bach chorales come from the corpus shipped inside music21, which is not installed. "
            "Install it with `pip install music21` (or `pip install genai_lib[book]`) and restart the kernel."
        ) from err
    return music21


def _corpus_files(music21: Any, limit: int | None) -> tuple[list[Path], Counter]:
    """The Bach score files in sorted order, one per chorale, and what was left out before parsing."""
    skipped: Counter = Counter()
    by_stem: dict[str, Path] = {}
    for path in sorted(Path(p) for p in music21.corpus.getComposer("bach")):
        if path.suffix not in SCORE_SUFFIXES:  # .rntxt: harmonic analyses, not scores
            skipped["skipped: an analysis, not a score"] += 1
            continue
        other = by_stem.get(path.stem)
        if other is not None:  # the same chorale in two formats (Humdrum and MusicXML): keep one
            skipped["skipped: the same chorale in another format"] += 1
            if SCORE_SUFFIXES.index(path.suffix) > SCORE_SUFFIXES.index(other.suffix):
                continue
        by_stem[path.stem] = path
    files = sorted(by_stem.values(), key=lambda p: p.name)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of files, got {limit}.")
        files = files[:limit]
    return files, skipped


def _parsed(limit: int | None) -> dict[str, Any]:
    """The parsed corpus (plain tensors, lists and dicts), from the cache or parsed now and cached."""
    music21 = _music21()
    files, skipped = _corpus_files(music21, limit)
    ident = [str(music21.__version__), PARSER_VERSION, STEPS_PER_QUARTER, [(p.name, p.stat().st_size) for p in files]]
    key = hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]
    path = cache_dir() / "chorales" / f"chorales-{key}.pt"
    if path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # a truncated or foreign file: parse again rather than fail
            print(f"The cached {path} is unreadable; parsing the chorales again.")
    print(f"Parsing {len(files)} Bach chorales from music21's corpus (once; cached in {path.parent}).")
    report: Counter = Counter(skipped)
    chorales = []
    for file in files:
        parsed = _parse_file(music21, file)
        if isinstance(parsed, str):
            report[f"dropped: {parsed}"] += 1
        else:
            chorales.append(parsed)
    report["kept"] = len(chorales)
    tunes = tune_keys([melody(c["pitches"].long(), STEPS_PER_QUARTER) for c in chorales])
    for chorale, tune in zip(chorales, tunes, strict=True):
        chorale["tune"] = tune
    data = {"chorales": chorales, "report": dict(sorted(report.items()))}
    atomic_save(data, path)
    return data


def _vocal_parts(score: Any) -> list[Any] | None:
    """The four voices, soprano first: the parts named so, or else a score of exactly four parts in order."""
    named: dict[str, list[Any]] = {v: [] for v in VOICES}
    for part in score.parts:
        words = (part.partName or "").lower().split()  # "Soprano\rOboe 1,2" -> "soprano": a doubled voice
        if words and words[0] in named:
            named[words[0]].append(part)
    if all(len(parts) == 1 for parts in named.values()):  # the choir of a chorale with instruments
        return [named[v][0] for v in VOICES]
    return list(score.parts) if len(score.parts) == 4 else None


def _voice_events(part: Any) -> list[tuple[int, int, int]] | str:
    """(start step, end step, pitch or REST) of each note and rest of one voice, or why it does not fit."""
    events = []
    for el in part.stripTies().flatten().notesAndRests:  # stripTies: a tied note becomes one long note
        if el.duration.isGrace:  # an ornament that takes no time on the grid
            continue
        if el.isChord:
            return "a chord in one voice"
        start, length = Fraction(el.offset) * STEPS_PER_QUARTER, Fraction(el.quarterLength) * STEPS_PER_QUARTER
        if start.denominator != 1 or length.denominator != 1 or length <= 0:
            return "a note off the sixteenth-note grid"
        events.append((int(start), int(start + length), REST if el.isRest else int(el.pitch.midi)))
    events.sort()
    if any(s < e_prev for (_, e_prev, _), (s, _, _) in zip(events, events[1:], strict=False)):
        return "overlapping notes in one voice"
    if not any(pitch != REST for _, _, pitch in events):
        return "a voice without notes"
    return events


def _parse_file(music21: Any, file: Path) -> dict[str, Any] | str:
    """One chorale as plain data (cacheable with weights_only), or the reason it is dropped."""
    score = music21.converter.parse(file)
    parts = _vocal_parts(score)
    if parts is None:
        return "not four voices"
    voices = []
    for part in parts:
        events = _voice_events(part)
        if isinstance(events, str):
            return events
        voices.append(events)
    T = max(events[-1][1] for events in voices)
    pitches = torch.full((4, T), REST, dtype=torch.int8)  # int8: MIDI fits, and the cache stays small
    onsets = torch.zeros(4, T, dtype=torch.bool)
    for v, events in enumerate(voices):
        for start, end, pitch in events:
            pitches[v, start:end] = pitch
            onsets[v, start] = pitch != REST  # rests get their onsets below, once consecutive rests merge
    # Steps where the whole choir is silent before its first note or after its last are the orchestra's
    # introduction and coda in the cantata: not part of the chorale.
    sung = (pitches != REST).any(dim=0).nonzero().flatten()
    kept = slice(int(sung[0]), int(sung[-1]) + 1)
    pitches, onsets = pitches[:, kept].clone(), onsets[:, kept].clone()  # (4, T'); clone: save no dropped steps
    # A rest "starts" where silence begins: consecutive rests merge, and a gap between notes is a rest.
    silent = pitches == REST  # (4, T')
    onsets |= silent & ~torch.cat([torch.zeros(4, 1, dtype=torch.bool), silent[:, :-1]], dim=1)
    signatures = list(score.recurse().getElementsByClass(music21.meter.TimeSignature))
    return {
        "name": file.stem,
        "pitches": pitches,
        "onsets": onsets,
        "steps_per_quarter": STEPS_PER_QUARTER,
        "beats_per_bar": int(signatures[0].numerator) if signatures else 4,
    }
