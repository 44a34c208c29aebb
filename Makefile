# The README's two commands:
#   make book   set up .venv and build the website into _build/html (full profile)
#   make test   set up .venv, run the unit tests and nbval over every chapter (quick profile)
# and, after make book, make site-test: the website in headless Chromium.
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
PROFILE    ?= full
BOOK_FLAGS ?=

# Jupyter Book's execution cache hashes only a notebook's code cells. A change to the
# companion package or to the profile changes what the pages show, so either one
# clears the cache (and Sphinx's record of which pages are up to date).
EXECUTION_KEY = $(shell cat $(sort $(wildcard companion/*.py companion/*/*.py)) pyproject.toml | sha256sum | cut -c1-16)-$(PROFILE)
KEY_FILE      := _build/.execution-key

.PHONY: book test test-matrix site-test setup data clean

book: setup
	@mkdir -p _build
	@if [ "$$(cat $(KEY_FILE) 2>/dev/null)" != "$(EXECUTION_KEY)" ]; then \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/jupyter_execute; fi
	COMPANION_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "$(EXECUTION_KEY)" > $(KEY_FILE)

test: setup
	COMPANION_PROFILE=quick $(BIN)/python -m pytest tests companion book --nbval-lax -q

# The unit tests under the four numerical set-ups a learner's machine may have: oneDNN off
# and on (TF_ENABLE_ONEDNN_OPTS), one and two intra-op threads (COMPANION_TEST_THREADS,
# read by tests/conftest.py). Not part of `make test`: it runs the suite four times. Each
# run's log goes to _build/test-matrix-*.log; the target fails if any run fails.
MATRIX_ARGS ?= tests companion -q -p no:randomly --ignore=tests/site_check.py

test-matrix: setup
	@mkdir -p _build
	@status=0; for onednn in 0 1; do for threads in 1 2; do \
	  log=_build/test-matrix-onednn$$onednn-threads$$threads.log; start=$$(date +%s); \
	  TF_ENABLE_ONEDNN_OPTS=$$onednn COMPANION_TEST_THREADS=$$threads COMPANION_PROFILE=quick \
	    $(BIN)/python -m pytest $(MATRIX_ARGS) > $$log 2>&1 || status=1; \
	  echo "TF_ENABLE_ONEDNN_OPTS=$$onednn threads=$$threads: $$(tail -n 1 $$log)" \
	       "[$$(( $$(date +%s) - start )) s wall, log $$log]"; \
	done; done; exit $$status

# The built website in headless Chromium (after `make book`): every page, its
# console, images, mathematics, internal links and search; screenshots in
# _build/screenshots. Needs Chromium (Debian: apt-get install chromium).
site-test: setup
	$(BIN)/python -m pytest tests/site_check.py -q

setup: $(VENV)/.installed data

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	@touch $@

# Fashion-MNIST: nothing to do when a local copy exists. Otherwise, as root on
# Debian or Ubuntu, install Debian's package; elsewhere Keras downloads it at first use.
data: $(VENV)/.installed
	@if ! $(BIN)/python -m companion data >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && grep -qiE '^ID(_LIKE)?=.*(debian|ubuntu)' /etc/os-release 2>/dev/null; then \
	    echo "Installing Debian's dataset-fashion-mnist"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	  else \
	    echo "Fashion-MNIST is not installed: Keras will download it at first use" \
	         "(offline: sudo apt-get install dataset-fashion-mnist)"; \
	  fi; \
	fi

clean:
	rm -rf _build
