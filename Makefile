# The README's commands:
#   make lab          set up .venv with JupyterLab and open book/ in it (quick profile)
#   make book         set up .venv and build the website into _build/html (full profile),
#                     with the reader notebooks its download buttons serve
#   make test         set up .venv, run the unit tests and nbval over every chapter (quick profile)
# and, after make book, make site-test: the website in headless Chromium;
# make test-oldest: the unit tests and one chapter with the oldest supported versions;
# make pdf: the whole course as one PDF (not part of make test).
#
# Every chapter is executed once per package version and profile. nbval executes it
# (two notebooks at a time, one per core, with pytest-xdist) and companion/book/nbcache.py
# stores the executed notebook in Jupyter Book's cache, from which the book is built.
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
PROFILE    ?= full
BOOK_FLAGS ?=
JOBS       ?= 2
LAB_FLAGS  ?=
# The lower bounds of pyproject.toml's ranges, installed by make test-oldest.
OLDEST_VENV ?= _build/venv-oldest
OLDEST_BIN  := $(OLDEST_VENV)/bin

# Jupyter Book's execution cache hashes only a notebook's code cells. A change to the
# companion package or to the profile changes what the pages show, so either one
# clears the cache (and Sphinx's record of which pages are up to date).
# Every module counts, sub-packages included.
EXECUTION_KEY = $(shell cat $$(find companion -name '*.py' | LC_ALL=C sort) pyproject.toml | sha256sum | cut -c1-16)-$(PROFILE)
KEY_FILE      := _build/.execution-key
CACHE         := _build/.jupyter_cache
# What companion/book/nbcache.py reads: where to store executed notebooks and cell times.
# The chapters' claim cells record to the build's ledger, _build/claims: the site's
# Verification report is made from it (book/_ext/claim_report.py).
NBVAL_ENV      = COMPANION_PROFILE=$(PROFILE) COMPANION_EXECUTION_CACHE=$(CACHE) \
                 COMPANION_CELL_TIMES=_build/cell-times/$(PROFILE) \
                 COMPANION_LEDGER_DIR=$(CURDIR)/_build/claims
PARALLEL       = -n $(JOBS) --dist loadfile

# The PDF (make pdf). Its name is latex_documents' targetname in _config.yml; the
# website links it (from the introduction) when it exists at course_pdf there.
PDF          := _build/pdf/training-deep-neural-networks.pdf
LATEX_PDF    := _build/latex/$(notdir $(PDF))
# Debian's packages for Jupyter Book's LaTeX builder: XeLaTeX with fontspec,
# unicode-math, ucharclasses and polyglossia (texlive-xetex); Sphinx's LaTeX style
# and the jupyterBook class's packages, changepage, pgfplots and the rest
# (texlive-latex-extra); bbm (texlive-fonts-extra); Sphinx's default XeLaTeX fonts
# (fonts-freefont-otf); and latexmk, which runs XeLaTeX until references settle.
TEX_PACKAGES := texlive-xetex texlive-latex-extra texlive-fonts-recommended \
                texlive-fonts-extra fonts-freefont-otf latexmk

.PHONY: book execute notebooks pdf tex test test-matrix site-test walltime test-oldest lab colab-cells setup data clean fresh-cache

book: execute
	COMPANION_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@$(MAKE) --no-print-directory notebooks

# The whole course as one PDF in $(PDF), from the same executed notebooks as the
# website (same cache, same profile). Build it before `make book` for the website
# to link it.
pdf: execute tex
	COMPANION_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . --builder pdflatex $(BOOK_FLAGS)
	@mkdir -p $(dir $(PDF))
	cp $(LATEX_PDF) $(PDF)

# TeX Live for make pdf: as root on Debian or Ubuntu, installed with apt-get when a
# package is missing; elsewhere the build needs xelatex and latexmk on the PATH.
tex:
	@if [ "$$(id -u)" = 0 ] && grep -qiE '^ID(_LIKE)?=.*(debian|ubuntu)' /etc/os-release 2>/dev/null; then \
	  if ! dpkg -s $(TEX_PACKAGES) >/dev/null 2>&1; then \
	    echo "Installing TeX Live for the PDF: $(TEX_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $(TEX_PACKAGES); \
	  fi; \
	elif ! command -v xelatex >/dev/null 2>&1 || ! command -v latexmk >/dev/null 2>&1; then \
	  echo "make pdf needs XeLaTeX and latexmk (Debian: apt-get install $(TEX_PACKAGES))"; \
	  exit 1; \
	fi

# Execute into the cache the chapters it lacks, in parallel, under nbval; start no pytest
# when it has them all (after an earlier run of the same profile and package: in CI, the
# quick book after make test).
execute: setup fresh-cache
	@chapters="$$($(NBVAL_ENV) $(BIN)/python -m companion.book.nbcache book/*.ipynb)" \
	  || exit 1; \
	if [ -z "$$chapters" ]; then echo "The execution cache has every chapter: nothing to execute."; \
	else echo "Executing" $$chapters; \
	  $(NBVAL_ENV) $(BIN)/python -m pytest $$chapters --nbval-lax -q $(PARALLEL); fi
	@echo "$(EXECUTION_KEY)" > $(KEY_FILE)

# The chapters first, then the other test files (tests/conftest.py orders them).
test: PROFILE = quick
test: setup fresh-cache
	$(NBVAL_ENV) $(BIN)/python -m pytest tests companion book --nbval-lax -q $(PARALLEL) \
	  --no-loadscope-reorder
	@echo "$(EXECUTION_KEY)" > $(KEY_FILE)

# make test (unit tests, doctests and every chapter under nbval, quick profile) under the
# four numerical set-ups a learner's machine may have: oneDNN off and on
# (TF_ENABLE_ONEDNN_OPTS), one and two intra-op threads (COMPANION_TEST_THREADS, read by
# tests/conftest.py, and TF_NUM_INTRAOP_THREADS, which TensorFlow reads at start-up in
# the chapters' kernels). Not part of `make test`: it runs the suite four times, one run
# at a time (no -n: the thread count is what is being varied), about 15 min each here.
# Each run's log goes to _build/test-matrix-*.log; the target fails if any run fails.
MATRIX_ARGS ?= tests companion book --nbval-lax -q -p no:randomly --ignore=tests/site_check.py

test-matrix: setup
	@mkdir -p _build
	@status=0; for onednn in 0 1; do for threads in 1 2; do \
	  log=_build/test-matrix-onednn$$onednn-threads$$threads.log; start=$$(date +%s); \
	  TF_ENABLE_ONEDNN_OPTS=$$onednn COMPANION_TEST_THREADS=$$threads \
	  TF_NUM_INTRAOP_THREADS=$$threads COMPANION_PROFILE=quick \
	    $(BIN)/python -m pytest $(MATRIX_ARGS) > $$log 2>&1 || status=1; \
	  echo "TF_ENABLE_ONEDNN_OPTS=$$onednn threads=$$threads: $$(tail -n 1 $$log)" \
	       "[$$(( $$(date +%s) - start )) s wall, log $$log]"; \
	done; done; exit $$status

# Reader notebooks: the executed chapters in plain Jupyter Markdown (glue values of the
# build, literal includes inlined, no MyST), outputs kept; the site's download buttons
# serve them. make book ends with this; alone, it converts the last build's notebooks.
notebooks:
	$(BIN)/python -m companion.book.reader_notebooks _build/jupyter_execute/book _build/html/_notebooks

# Per-notebook and total times of the last nbval run and book build, slowest cells.
walltime: setup
	$(BIN)/python -m companion walltime --profile $(PROFILE)

fresh-cache:
	@mkdir -p _build
	@if [ "$$(cat $(KEY_FILE) 2>/dev/null)" != "$(EXECUTION_KEY)" ]; then \
	  rm -rf $(CACHE) _build/.doctrees _build/jupyter_execute _build/claims $(KEY_FILE); fi

# The built website in headless Chromium (after `make book`): every page, its
# console, images, mathematics, internal links and search; screenshots in
# _build/screenshots. Needs Chromium (Debian: apt-get install chromium).
site-test: setup
	$(BIN)/python -m pytest tests/site_check.py -q -n $(JOBS)

# JupyterLab on book/ in the quick profile, from .venv with the [lab] extra
# (e.g. make lab LAB_FLAGS=--no-browser). Jupyter refuses to run as root (containers,
# CI) unless told to.
lab: $(VENV)/.lab-installed
	@$(FETCH_DATA)
	COMPANION_PROFILE=quick $(BIN)/jupyter lab book/ $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_FLAGS)

# The first code cell of every chapter installs the companion on Colab, from
# repository.url in _config.yml: run this after changing it (a test checks the cells).
colab-cells: setup
	$(BIN)/python -m companion.book.colab book

# Installing into a virtual environment: $(call install,<environment>,<what pip is given>).
# With pip: pip installs without compiling, then compileall compiles the installed
# modules on every core (pip alone compiles one file at a time: 76 s instead of 59 s
# here, one run each). In a virtual environment, purelib and platlib are one directory.
pip_install = $(1)/bin/python -m pip install --quiet --upgrade pip \
  && $(1)/bin/python -m pip install --quiet --no-compile $(2) \
  && { $(1)/bin/python -m compileall -q -j 0 \
         "$$($(1)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
       || echo "Some installed modules did not compile (listed above): Python reads them from source."; }
# With uv (INSTALLER=uv, what .ci/run uses): pip installs uv into the environment, where
# it stays, and uv installs the same requirements, compiling what it installs on every
# core (it does not list files that fail to compile; Python reads those from source).
# Creating and filling .venv took 31 s with uv against 62 s with pip here (one run each,
# nothing else running, download caches warm). uv reads its own settings (uv.toml,
# UV_DEFAULT_INDEX), never pip's (pip.conf, PIP_INDEX_URL and the rest): where pip must
# use a mirror, use pip or point uv at the mirror. Where uv fails, pip installs instead.
# --refresh-package: build this package afresh, never from uv's cache.
UV_REQUIREMENT := uv~=0.13.9
uv_install = $(1)/bin/python -m pip install --quiet --disable-pip-version-check "$(UV_REQUIREMENT)" \
  && $(1)/bin/uv pip install --quiet --python $(1)/bin/python --compile-bytecode \
       --refresh-package companion $(2)
INSTALLERS := pip uv
INSTALLER  ?= pip
# The recipes that install with INSTALLER are not echoed (the fallback's message would
# show in every log); these lines say what they do instead.
announce = echo 'Installing $(2) into $(1) with $(3).'
install = $(if $(and $(filter 1,$(words $(INSTALLER))),$(filter $(INSTALLERS),$(INSTALLER))),,\
  $(error INSTALLER must be one of $(INSTALLERS), got '$(INSTALLER)'))$(call announce,$(1),$(2),$(INSTALLER)) \
  && $(if $(filter uv,$(INSTALLER)),\
  { $(call uv_install,$(1),$(2)) \
    || { echo "Installing with pip: uv could not install into $(1)."; $(call pip_install,$(1),$(2)); }; },\
  $(call pip_install,$(1),$(2)))
BOOK_REQUIREMENTS   := -e ".[book,test]"
LAB_REQUIREMENTS    := -e ".[lab]"
OLDEST_REQUIREMENTS := -c tests/constraints-oldest.txt ".[test]"

# The oldest versions the ranges in pyproject.toml allow (tests/constraints-oldest.txt),
# in a virtual environment of their own with the package installed as a user installs it
# (not editable): the unit tests, then chapter 1 under nbval, both run from outside the
# repository so that they import the installed package.
test-oldest: $(OLDEST_VENV)/.package
	@rm -rf _build/oldest-run && mkdir -p _build/oldest-run
	cp book/01_unstable_gradients.ipynb _build/oldest-run/
	cd _build/oldest-run && COMPANION_PROFILE=quick $(abspath $(OLDEST_BIN))/python -m pytest \
	  -c $(CURDIR)/pyproject.toml --rootdir=$(CURDIR) -q $(CURDIR)/tests
	cd _build/oldest-run && COMPANION_PROFILE=quick $(abspath $(OLDEST_BIN))/python -m pytest \
	  -c $(CURDIR)/pyproject.toml --rootdir=$(CURDIR)/_build/oldest-run -q --nbval-lax \
	  01_unstable_gradients.ipynb

$(OLDEST_VENV)/.installed: pyproject.toml tests/constraints-oldest.txt
	rm -rf $(OLDEST_VENV)
	$(PYTHON) -m venv $(OLDEST_VENV)
	@$(call announce,$(OLDEST_VENV),$(OLDEST_REQUIREMENTS),pip) \
	  && $(call pip_install,$(OLDEST_VENV),$(OLDEST_REQUIREMENTS))
	@touch $@

# The package alone again (not its dependencies) whenever one of its modules changed:
# test-oldest tests the installed copy, not the repository's.
$(OLDEST_VENV)/.package: $(OLDEST_VENV)/.installed $(shell find companion -name '*.py')
	$(OLDEST_BIN)/python -m pip install --quiet --no-deps --force-reinstall .
	@touch $@

setup: $(VENV)/.installed data

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@$(call install,$(VENV),$(BOOK_REQUIREMENTS))
	@touch $@

$(VENV)/.lab-installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(call install,$(VENV),$(LAB_REQUIREMENTS))
	@touch $@

# Fashion-MNIST: nothing to do when a local copy exists. Otherwise, as root on
# Debian or Ubuntu, install Debian's package; elsewhere Keras downloads it at first use.
define FETCH_DATA
if ! $(BIN)/python -m companion data >/dev/null 2>&1; then \
  if [ "$$(id -u)" = 0 ] && grep -qiE '^ID(_LIKE)?=.*(debian|ubuntu)' /etc/os-release 2>/dev/null; then \
    echo "Installing Debian's dataset-fashion-mnist"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
  else \
    echo "Fashion-MNIST is not installed: Keras will download it at first use" \
         "(offline: sudo apt-get install dataset-fashion-mnist)"; \
  fi; \
fi
endef

# The check imports TensorFlow (7 s here), so make runs it once per environment (CI's
# three make commands ran it three times); delete $(VENV)/.data-checked to check again.
# A copy removed afterwards is then missing at first use, as if never installed.
data: $(VENV)/.data-checked

$(VENV)/.data-checked: $(VENV)/.installed
	@$(FETCH_DATA)
	@touch $@

clean:
	rm -rf _build
