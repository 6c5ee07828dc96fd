"""Reference solutions of the exercise checks, for computing their stored answers (assignments/answers.py).

These never ship with ``genai_checks``: a student who imports the checks finds numbers, not solutions.
"""
