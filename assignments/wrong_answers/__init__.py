"""Wrong answers that pass every public check of an exercise and fail its hidden check.

A hidden check (a code cell tagged ``hidden-check``, in the grader bundle only) must test something
the public checks do not: an edge case, a second input. The proof is a committed wrong answer that
passes the public checks and fails the hidden one; tests/test_hidden_checks.py runs both on it.

One module per chapter, named as the chapter's checks are (``ch05``, ``appendix_b``), defines
``WRONG``: for each exercise with a hidden check (its otter name, ``exercise_5_1``), the names its
check calls use, bound to the wrong answer (and to anything else those calls read).
"""
