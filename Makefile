# The two commands a reader needs are `make book` and `make test`; each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The torch/torchvision pair we test with. pyproject.toml only asks for ranges, so Colab and
# existing environments keep their own torch; override with `make test TORCH="torch torchvision"`.
TORCH ?= torch==2.14.1 torchvision==0.29.1
WORKERS ?= 2
# Sleeping (not spinning) OpenMP threads: with several notebooks on few cores, spinning costs 10x;
# a spin of 1,000 rounds before sleeping keeps a lone notebook's small ops fast (genai_lib/__init__.py).
OMP_WAIT_POLICY ?= PASSIVE
GOMP_SPINCOUNT ?= 1000
export OMP_WAIT_POLICY GOMP_SPINCOUNT
STAMP := $(VENV)/.installed
# `make book OFFLINE=1`: the pages load MathJax from the build instead of a CDN (book/_ext/genai_book.py).
OFFLINE ?=
MATHJAX := _build/mathjax/node_modules/mathjax/es5
# Every notebook of the book in the order of _toc.yml (the chapters and the notebook appendices;
# plain pages such as a_reference.md are not notebooks), as book/chapters.py reads it with the system
# python3. Expanded only by the targets that use it; a notebook missing from _toc.yml, or an entry
# with no file, stops them with book/chapters.py's message instead of running part of the book.
NOTEBOOKS = $(or $(shell $(PYTHON) book/chapters.py --notebooks),$(error the notebooks of the book could not be listed: fix what book/chapters.py says above))

.PHONY: help book site release-tag grade test unit chapter lint format lab sync clean student mathjax browser gpu-bundle test-gpu bench-gpu probe

help:
	@echo "make book   execute every chapter (standard budget) and build _build/html/index.html"
	@echo "            (make book OFFLINE=1: MathJax served from the build, for reading offline)"
	@echo "make site   after make book: the folder GitHub Pages deploys (_build/html with .nojekyll)"
	@echo "make test   unit tests, notebook pairing checks, strict book build, nbval (smoke budget)"
	@echo "make chapter N=03   one chapter executed headless by nbval (GENAI_BUDGET=smoke for a quick run)"
	@echo "make lint   ruff (lint and format check) and mypy over the Python code; CI runs it before the tests"
	@echo "make format format the Python code with ruff (what make lint expects)"
	@echo "make lab    JupyterLab (with jupyterlab-myst) that opens the .md chapters as notebooks"
	@echo "make sync   regenerate every chapter's .ipynb from its .md (plain Markdown, no outputs)"
	@echo "make grade SUBMISSIONS=dir/ CHAPTER=05   grade handed-in notebooks into results/<chapter>-gradebook.csv"
	@echo "make student  student version (no solutions) and otter grader of every chapter in _build/student/"
	@echo "make clean  remove _build and caches (keeps .venv)"
	@echo "make gpu-bundle  copy into $(GPU_SITE) the packages that travel to a GPU machine (run here, then carry it)"
	@echo "make test-gpu    on a GPU machine: every notebook at smoke, then the full-budget step-time probe"
	@echo "make bench-gpu NAME=gpt_char   on a GPU machine: one benchmark at its full budget"
	@echo "make probe  the step-time probe here: full-budget estimates, genai_lib/expected_times.json" 

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "The book needs Python 3.11 or newer; \
	$(PYTHON) is $$($(PYTHON) -V 2>&1). Install a newer Python and run e.g. make test PYTHON=python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PY) -m pip install $(TORCH)
	$(PY) -m pip install -e ".[book,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (genai)" >/dev/null
	touch $@

# Every chapter executed (GENAI_BUDGET=full make book for the GPU version), strictly, into
# $(BOOK_OUT)/_build/html. Outputs and checkpoints are cached per budget in _build/cache/<budget>, keyed
# on each notebook's code, genai_lib and the notebooks it loads checkpoints from (book/build.py): a
# prose edit re-executes nothing. BOOK_EXECUTE_ONLY="docname ..." executes only those (tests/test_book.py).
BOOK_OUT ?= $(CURDIR)
BOOK_EXECUTE_ONLY ?=
book: $(STAMP) $(if $(OFFLINE),mathjax)
	$(PY) -m book.build --budget $${GENAI_BUDGET:-standard} --out $(BOOK_OUT) $(if $(OFFLINE),--mathjax $(CURDIR)/$(MATHJAX)) \
		$(if $(BOOK_EXECUTE_ONLY),--execute-only $(BOOK_EXECUTE_ONLY))
	@echo "Open $(BOOK_OUT)/_build/html/index.html"

# The folder GitHub Pages deploys (.github/workflows/book.yml): the HTML of `make book`, with
# .nojekyll so that Pages serves _static/ and _sources/ as they are.
site:
	@test -f $(BOOK_OUT)/_build/html/index.html || { echo "No $(BOOK_OUT)/_build/html/index.html: run make book first" >&2; exit 1; }
	touch $(BOOK_OUT)/_build/html/.nojekyll
	@echo "$(BOOK_OUT)/_build/html is the site to deploy"

# The tag v<version> of genai_lib that every chapter's Colab install cell installs (book/reader.py):
# made by the publishing workflow for each version it deploys, once. PUSH=1 also pushes it.
VERSION = $(shell sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' genai_lib/__init__.py)
PUSH ?=
release-tag:
	@test -n "$(VERSION)" || { echo "genai_lib/__init__.py sets no __version__" >&2; exit 1; }
	@if git rev-parse -q --verify "refs/tags/v$(VERSION)" >/dev/null; then \
		echo "v$(VERSION) is tagged already, at $$(git rev-list -n 1 v$(VERSION))"; \
	else git tag "v$(VERSION)" && echo "tagged v$(VERSION) at $$(git rev-parse HEAD)"; fi
	$(if $(PUSH),git push origin "v$(VERSION)")

# One pytest run: unit and repository tests (including a strict, non-executing book build),
# then every chapter notebook executed by nbval in the smoke budget, on the pseudo device: a CPU
# stand-in for a GPU that fails where CUDA would on a tensor left on the CPU (genai_lib/pseudo_device.py).
# The notebooks come first: xdist hands out whole files in the order given, so each chapter has run (and
# left its smoke checkpoints) before tests/test_student.py runs its student version, which loads them.
test: $(STAMP) mathjax browser
	rm -rf _build/test-checkpoints
	GENAI_DEVICE=$${GENAI_DEVICE:-pseudo} GENAI_BUDGET=smoke GENAI_WIDGETS=off GENAI_CHECKPOINT_DIR=$(CURDIR)/_build/test-checkpoints $(PY) -m pytest -v -n $(WORKERS) --dist loadscope --durations=30 \
		--nbval-lax --nbval-current-env -p no:cacheprovider $(NOTEBOOKS:.md=.ipynb) tests

# Style, formatting and types (pyproject.toml: [tool.ruff], [tool.mypy]); CI runs it before `make test`.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix --select I .
	$(VENV)/bin/ruff format .

unit: $(STAMP)
	$(PY) -m pytest -n $(WORKERS) tests

# One chapter, headless, executed by nbval: make chapter N=03 (or N=03_dcgan). The budget is the usual
# one (GENAI_BUDGET, else full on a CUDA GPU and standard otherwise); every cell and claim must pass.
chapter: $(STAMP)
	@test -n "$(N)" || { echo "Name the chapter: make chapter N=03 (GENAI_BUDGET=smoke for a quick run)" >&2; exit 2; }
	@nb=$$(ls book/*/$(N)_*.ipynb book/*/$(N).ipynb 2>/dev/null | head -n 1); nb=$${nb:-$$(ls book/*/$(N)*.ipynb 2>/dev/null | head -n 1)}; \
	test -n "$$nb" || { echo "No notebook book/*/$(N)*.ipynb: N is a chapter number or file name, e.g. 03 or 03_dcgan" >&2; exit 2; }; \
	echo "$$nb"; GENAI_WIDGETS=off GENAI_PROGRESS=off $(PY) -m pytest -q --nbval-lax --nbval-current-env -p no:cacheprovider "$$nb"

# MathJax 3 from npm: for `make book OFFLINE=1`, and for the browser tests, which block the network.
$(MATHJAX)/tex-mml-chtml.js:
	@command -v npm >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm; }
	@if command -v npm >/dev/null; then \
		npm install --prefix _build/mathjax --no-save --no-audit --no-fund --loglevel=error mathjax@3.2.2 && touch $@; \
	else echo "MathJax for offline reading comes from npm: sudo apt-get install npm (the browser tests skip without it)."; fi

mathjax: $(MATHJAX)/tex-mml-chtml.js

# Debian's chromium for the browser tests (tests/book_rendered.py), which Playwright drives; they
# fail without it when CI is set. As root this installs it; otherwise it says how.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$GENAI_CHROMIUM" ] || \
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "The browser tests need chromium: sudo apt-get install chromium (or set GENAI_CHROMIUM)."; fi

# Open the .md chapters as notebooks with a double click (JupyterLab's default viewer for Markdown).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): | $(STAMP)
	mkdir -p $(dir $@)
	echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $@

# jupyterlab-myst renders the MyST of the .md chapters (citations, equation numbers, admonitions).
LAB_STAMP := $(VENV)/.lab-installed
$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet "jupyterlab-myst>=2.4"
	touch $@

lab: $(LAB_STAMP) $(LAB_OVERRIDES)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=book

# For teachers (book/part0/assignments.md): solutions out, checks kept; never committed.
student: $(STAMP)
	rm -rf _build/student
	$(PY) -m assignments --out _build/student --jobs $(WORKERS)

# Grade a folder of submissions of one chapter (assignments/grade.py): make grade SUBMISSIONS=hand-ins/ CHAPTER=05
# writes results/<chapter>-gradebook.csv and results/<student>/feedback.md, offline, at the smoke budget.
SUBMISSIONS ?=
CHAPTER ?=
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" -a -n "$(CHAPTER)" || { echo "Say what to grade: make grade SUBMISSIONS=hand-ins/ CHAPTER=05" >&2; exit 2; }
	@nb=$$(ls book/*/$(CHAPTER)_*.md book/*/$(CHAPTER).md 2>/dev/null | head -n 1); nb=$${nb:-$$(ls book/*/$(CHAPTER)*.md 2>/dev/null | head -n 1)}; test -n "$$nb" || { echo "No chapter book/*/$(CHAPTER)*.md" >&2; exit 2; }; \
	$(PY) -m assignments --out _build/student "$$nb" >/dev/null && \
	$(PY) -m assignments.grade "$(SUBMISSIONS)" "$(CHAPTER)" --out $(or $(RESULTS_DIR),results)

# The .ipynb of every notebook page, made from its .md: plain Markdown for Colab and JupyterLab
# (book/reader.py); then the exercise editions in exercises/ (assignments/student.py). The tests
# fail when one is out of date.
sync: $(STAMP)
	$(PY) -m book.reader
	$(PY) -m assignments --out _build/student --jobs $(WORKERS) --editions

# GPU checks (benchmarks/gpu.py) run with the GPU machine's own python3 and torch: no virtualenv, no
# downloads. What they need beyond it travels in $(GPU_SITE), made here by `make gpu-bundle`.
GPU_PYTHON ?= python3
GPU_SITE := _build/gpu/site
RESULTS ?= $(CURDIR)/benchmarks/results
# make test-gpu ONLY="03_dcgan gpt_char": some notebooks and benchmarks; make bench-gpu NAME=x BUDGET=smoke.
ONLY ?=
GPU_ENV = PYTHONPATH=$(CURDIR):$(CURDIR)/$(GPU_SITE) GENAI_DATA_MIRRORS=$(CURDIR)/$(GPU_SITE)/data OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=1000

gpu-bundle: $(STAMP)
	$(PY) benchmarks/gpu.py bundle $(GPU_SITE)

test-gpu:
	cd benchmarks && $(GPU_ENV) $(GPU_PYTHON) gpu.py test --out $(RESULTS) $(if $(ONLY),--only $(ONLY))

bench-gpu:
	@test -n "$(NAME)" || { echo "Name the benchmark: make bench-gpu NAME=gpt_char (or gan_mnist, vae_mnist, diffusion_mnist, text_to_image, part6)" >&2; exit 2; }
	cd benchmarks && $(GPU_ENV) $(GPU_PYTHON) gpu.py bench $(NAME) --budget $(or $(BUDGET),full) --out $(RESULTS)

# Every notebook and benchmark at the full budget with $$GENAI_PROBE set: a few timed steps of every run.
# On a CPU this rewrites the GPU estimates in genai_lib/expected_times.json (tests/test_full_budgets.py).
probe: $(STAMP)
	cd benchmarks && $(PY) probe.py --timeout 600

clean:
	rm -rf _build .pytest_cache .jupyter_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
