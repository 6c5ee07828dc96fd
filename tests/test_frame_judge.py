"""genai_lib.models.frame_judge: chapter 20's per-frame judge reads real frames of the evaluation seed, never saw
that seed, is trained once and then loaded, and says clearly what is wrong with bad input."""

from __future__ import annotations

import pytest
import torch

from genai_lib.data.clips import make_clips
from genai_lib.models import frame_judge as fj
from genai_lib.models.frame_judge import JUDGE_SEED, frame_judge, judge_frames


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    """The chapter's judge, trained once for this module into a cache of its own, not the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENAI_DATA_DIR", str(tmp_path_factory.mktemp("frame-judge-cache")))
        return frame_judge(verbose=False)


@pytest.mark.slow  # the first test to use the judge trains it
@pytest.mark.parametrize("split", ["test", "heldout"])
def test_the_judge_reads_real_frames_of_the_evaluation_seed(judge, split):
    data = make_clips(split, 100, seed=0)
    read = judge_frames(data.clips, judge)  # {attribute: (N, T)}
    # Measured on 300 clips of each split (2,400 frames): shape 99.6% (test) and 99.96% (held out), colour 100%.
    for attribute, least in (("shape", 0.98), ("colour", 0.99)):
        share = (read[attribute] == data.labels[attribute][:, None]).float().mean().item()
        assert share >= least, (split, attribute, share)


def test_the_judge_never_saw_the_evaluation_seed(isolated_cache, monkeypatch):
    seeds = []

    def spy(split, n, **kwargs):
        seeds.append(kwargs["seed"])
        return make_clips(split, n, **kwargs)

    monkeypatch.setattr(fj, "make_clips", spy)
    frame_judge(n=8, steps=1, verbose=False)
    assert seeds and set(seeds) == {JUDGE_SEED} and JUDGE_SEED != 0


def test_the_judge_is_trained_once_and_then_loaded_from_the_cache(isolated_cache, capsys):
    first = frame_judge(n=8, steps=2)
    assert "Training the frame judge" in capsys.readouterr().out
    second = frame_judge(n=8, steps=2)
    assert "Training" not in capsys.readouterr().out
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert list((isolated_cache / "classifiers").glob("frame-judge-*.pt"))


def test_judge_frames_wants_clips_of_32_by_32_frames(isolated_cache):
    judge = frame_judge(n=8, steps=1, verbose=False)
    clips = make_clips("test", 2, seed=0).clips
    assert {a: tuple(v.shape) for a, v in judge_frames(clips, judge).items()} == {"shape": (2, 8), "colour": (2, 8)}
    with pytest.raises(ValueError, match=r"Expected clips \(N, T, 3, 32, 32\)"):
        judge_frames(clips[0], judge)  # one clip without its batch dimension
    with pytest.raises(ValueError, match=r"Expected clips \(N, T, 3, 32, 32\)"):
        judge_frames(torch.rand(2, 8, 3, 64, 64), judge)
