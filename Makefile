# The two commands: `make demo` and `make test`. Everything they need is installed from here.
PY      := .venv/bin/python
STAMP   := .venv/.installed

.PHONY: demo demo-stop test install bench clean browser

$(STAMP): pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (Playwright never downloads a browser of its own), with
# fonts for the UI's emoji icons and for Japanese text in screenshots.
BROWSER_PKGS := chromium fonts-noto-color-emoji fonts-ipafont-gothic

browser:
	@dpkg -s $(BROWSER_PKGS) >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS); }

test: $(STAMP) browser
	$(PY) -m pytest -q

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m tenbin.demo

demo-stop: $(STAMP)
	$(PY) -m tenbin.demo --stop

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf .venv .tenbin-demo test-artifacts
