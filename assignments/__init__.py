"""How the student versions of the chapters are made (``make student``); the output goes to _build/.

- ``chapters``: reads the exercises (heading, difficulty, time, solutions, checks) out of the chapters;
- ``student``: turns each chapter into otter-grader's assignment format and runs ``otter assign``;
- ``guide``: the table of exercises on the teachers' page, book/part0/assignments.md.
"""
