# The README's two commands:
#   make book   set up .venv and build the website into _build/html (full profile)
#   make test   set up .venv, run the unit tests and nbval over every chapter (quick profile)
# and, after make book, make site-test: the website in headless Chromium;
# make pdf: the whole course as one PDF (not part of make test).
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
PROFILE    ?= full
BOOK_FLAGS ?=

# Jupyter Book's execution cache hashes only a notebook's code cells. A change to the
# companion package or to the profile changes what the pages show, so either one
# clears the cache (and Sphinx's record of which pages are up to date).
# Every module counts, sub-packages included.
EXECUTION_KEY = $(shell cat $$(find companion -name '*.py' | LC_ALL=C sort) pyproject.toml | sha256sum | cut -c1-16)-$(PROFILE)
KEY_FILE      := _build/.execution-key
define CHECK_EXECUTION_KEY
	@mkdir -p _build
	@if [ "$$(cat $(KEY_FILE) 2>/dev/null)" != "$(EXECUTION_KEY)" ]; then \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/jupyter_execute; fi
endef

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

.PHONY: book pdf tex test site-test setup data clean

book: setup
	$(CHECK_EXECUTION_KEY)
	COMPANION_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "$(EXECUTION_KEY)" > $(KEY_FILE)

# The whole course as one PDF in $(PDF), from the same executed notebooks as the
# website (same cache, same profile). Build it before `make book` for the website
# to link it.
pdf: setup tex
	$(CHECK_EXECUTION_KEY)
	COMPANION_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . --builder pdflatex $(BOOK_FLAGS)
	@echo "$(EXECUTION_KEY)" > $(KEY_FILE)
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

test: setup
	COMPANION_PROFILE=quick $(BIN)/python -m pytest tests book --nbval-lax -q

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
