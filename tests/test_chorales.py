import sys

import pytest
import torch

from genai_lib.data import Chorale, ChoraleTokenizer, chorale_token_stream, event_length, load_chorales, transpose
from genai_lib.data import chorales as chorales_module
from genai_lib.data.chorales import REST, melody, split_of, tune_keys

C4, D4, E4, G3, C3 = 60, 62, 64, 55, 48


def hand_built() -> Chorale:
    """Four steps: soprano C4 held, then C4 struck again; alto rests two steps; tenor and bass move."""
    pitches = torch.tensor(
        [
            [C4, C4, C4, D4],  # soprano: C4 for two steps, C4 repeated, D4
            [REST, REST, E4, E4],  # alto: a two-step rest, then E4 held
            [G3, G3, G3, G3],  # tenor: one whole note
            [C3, C3 + 2, C3 + 4, C3 + 5],  # bass: a new note each step
        ]
    )
    onsets = torch.tensor(
        [
            [True, False, True, True],
            [True, False, True, False],
            [True, False, False, False],
            [True, True, True, True],
        ]
    )
    return Chorale("hand-built", pitches, onsets, beats_per_bar=4, tune="test")


def test_grid_encoding_round_trips_and_interleaves_the_voices():
    tok, chorale = ChoraleTokenizer(), hand_built()
    tokens = tok.encode(chorale)
    assert tokens.shape == (1 + 4 * 4,) and tokens.dtype == torch.long and tokens.max() < tok.vocab_size
    names = [tok.name(int(t)) for t in tokens]
    assert names[:9] == ["<bos>", "C4", "<rest>", "G3", "C3", "<hold>", "<hold>", "<hold>", "D3"]  # <bos>, S A T B, ...
    pitches, onsets = tok.decode(tokens)
    assert torch.equal(pitches, chorale.pitches) and torch.equal(onsets, chorale.onsets)
    # a trailing partial step is ignored; a leading <hold> has nothing to hold and reads as a rest
    pitches, _ = tok.decode(torch.cat([tokens, tokens[1:3]]))
    assert torch.equal(pitches, chorale.pitches)
    pitches, onsets = tok.decode([0, 2, 2, 2, 2])
    assert pitches.flatten().tolist() == [REST] * 4 and onsets.all()
    assert tok.vocab_size == 3 + 81 - 36 + 1


def test_a_held_note_and_a_repeated_note_are_different_sequences():
    tok, chorale = ChoraleTokenizer(), hand_built()
    onsets = chorale.onsets.clone()
    onsets[0, 2] = False  # the soprano's second C4 becomes a continuation of the first
    tied = Chorale("tied", chorale.pitches, onsets)
    assert torch.equal(tied.pitches, chorale.pitches)  # the same pitches sound at every step ...
    a, b = tok.encode(chorale), tok.encode(tied)
    assert tok.name(int(a[1 + 4 * 2])) == "C4" and tok.name(int(b[1 + 4 * 2])) == "<hold>"  # ... but not the same notes
    assert torch.equal(tok.decode(b)[1], tied.onsets)


def test_transpose_shifts_every_voice_keeps_rests_and_refuses_to_leave_the_range():
    chorale = hand_built()
    up = transpose(chorale, 5)
    assert up is not None and torch.equal(up.onsets, chorale.onsets)
    sounding = chorale.pitches != REST
    assert torch.equal(up.pitches[sounding], chorale.pitches[sounding] + 5) and (up.pitches[~sounding] == REST).all()
    assert transpose(chorale, -13) is None  # the bass C3 would fall below C2 (36)
    assert transpose(chorale, 30) is None  # the soprano D4 would rise above A5 (81)
    assert transpose(chorale, -13, low=30) is not None
    stream = chorale_token_stream([chorale], ChoraleTokenizer(), transpositions=[-13, 0, 5])
    assert len(stream) == 2  # -13 leaves the range, so it is left out
    with pytest.raises(ValueError, match="outside the tokenizer's range 50..81"):
        ChoraleTokenizer(low=50).encode(chorale)


def test_event_length_counts_a_pitch_and_a_duration_per_note_or_rest():
    # <bos> + soprano 3 notes + alto rest and 1 note + tenor 1 note + bass 4 notes = 1 + 2 * 10 + 4 separators
    assert event_length(hand_built()) == 1 + 2 * (3 + 2 + 1 + 4) + 4


def test_bad_inputs_are_clear_errors(monkeypatch):
    with pytest.raises(ValueError, match="Unknown split 'validation'; use one of train, valid, test, all"):
        load_chorales("validation")
    with pytest.raises(ValueError, match=r"shape \(4, T\)"):
        Chorale("three voices", torch.zeros(3, 8, dtype=torch.long), torch.ones(3, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="changes pitch without an onset"):
        Chorale("bad", torch.tensor([[C4, D4]] * 4), torch.tensor([[True, False]] * 4))
    with pytest.raises(ValueError, match="<bos> may only open a sequence"):
        ChoraleTokenizer().decode([0, 3, 3, 3, 3, 0])
    monkeypatch.setitem(sys.modules, "music21", None)  # `import music21` now fails as if it were not installed
    with pytest.raises(ImportError, match=r"pip install music21.*pip install genai_lib\[book\]"):
        load_chorales("train")


def test_a_tune_is_recognised_across_keys_and_ornaments():
    base = hand_built().pitches.repeat_interleave(4, dim=1)  # (4, 16): each step a quarter note
    theme = melody(base)
    ornamented = base.clone()
    ornamented[0, 6] = D4 - 1  # a passing note between the beats: not on a beat, so not in the melody
    assert melody(ornamented) == theme and melody(base + 7) == theme
    other = [3, -1, -2, 4, 4, -5, 2, 1]
    keys = tune_keys([theme + [5, -3, 2, 2, -1, -2], theme + [5, -3, 2, 2, -1, -4], other])
    assert keys[0] == keys[1] != keys[2] and split_of(keys[0]) in ("train", "valid", "test")


def test_a_real_subset_of_the_corpus_is_parsed_once_and_split_by_tune(monkeypatch, capsys, isolated_cache):
    pytest.importorskip("music21")
    chorales = load_chorales("all", limit=12)
    assert "Parsing 12 Bach chorales" in capsys.readouterr().out
    assert 10 <= len(chorales) <= 12 and chorales[0].name == "bwv1.6"  # the first files by name
    for c in chorales:
        assert c.pitches.shape == c.onsets.shape == (4, c.n_steps) and c.steps_per_quarter == 4
        assert c.beats_per_bar in (3, 4)
        soprano, bass = c.pitches[0][c.pitches[0] != REST], c.pitches[3][c.pitches[3] != REST]
        assert 55 <= soprano.min() and soprano.max() <= 84 and 34 <= bass.min() and bass.max() <= 67
        both = (c.pitches[0] != REST) & (c.pitches[3] != REST)
        assert (c.pitches[0][both] > c.pitches[3][both]).float().mean() > 0.95
        tok = ChoraleTokenizer()
        assert all(torch.equal(x, y) for x, y in zip(tok.decode(tok.encode(c)), (c.pitches, c.onsets), strict=True))
    assert len(list((isolated_cache / "chorales").glob("chorales-*.pt"))) == 1

    def no_parsing(*args):
        raise AssertionError("the second call parsed a file instead of loading the cache")

    monkeypatch.setattr(chorales_module, "_parse_file", no_parsing)
    train, valid, test = (load_chorales(s, limit=12) for s in ("train", "valid", "test"))
    assert capsys.readouterr().out == ""
    assert sorted(c.name for c in train + valid + test) == sorted(c.name for c in chorales)
    # Every harmonisation of a tune is in one split; bwv101.7 and bwv102.7 both harmonise "Vater unser im
    # Himmelreich", with openings that differ, and bwv104.6 and bwv112.5 set "Allein Gott in der Höh".
    by_name = {c.name: c for c in chorales}
    assert by_name["bwv101.7"].tune == by_name["bwv102.7"].tune and by_name["bwv104.6"].tune == by_name["bwv112.5"].tune
    for split, subset in (("train", train), ("valid", valid), ("test", test)):
        assert all(split_of(c.tune) == split for c in subset)
