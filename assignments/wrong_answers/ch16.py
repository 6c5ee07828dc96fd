"""Chapter 16: a longest verbatim run that, after each match, restarts where the match ended.

It grows a match from start i and then jumps to the character that broke it, never trying the starts
inside the match just found. On every public case the longest match starts at such a jump (or at 0), so
every public check passes. In the hidden case the sample "a cat sat on" first matches "a ca" in "a cab,
cat sat on it"; the longest match, " cat sat on" (11 characters), starts inside it, and the jump finds
only "t sat on" (8).
"""


def longest_verbatim(sample: str, reference: str) -> int:
    best, i = 0, 0
    while i < len(sample):
        j = i
        while j < len(sample) and sample[i : j + 1] in reference:
            j += 1
        best = max(best, j - i)
        i = max(j, i + 1)  # wrong: i + 1, every start position
    return best


WRONG = {"exercise_16_3": {"longest_verbatim": longest_verbatim}}
