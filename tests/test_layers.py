"""The command line, the pack and the benchmark never load Streamlit: only the browser's modules do."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# The modules that draw in the browser; dashboard.py and pages/ import them, nothing else in closeloop/ does.
STREAMLIT_MODULES = {"cards", "detail", "drill", "intake", "meeting", "plan_actions", "session", "sidebar"}
PLAIN_MODULES = sorted(p.stem for p in (ROOT / "closeloop").glob("*.py")
                       if p.stem not in STREAMLIT_MODULES | {"__init__", "__main__"})


def loading_streamlit(modules: list[str]) -> list[str]:
    """Those of `modules` that bring Streamlit in when imported, each in a fresh interpreter of its own."""
    runs = {m: subprocess.Popen([sys.executable, "-c", f"import sys, closeloop.{m}; print('streamlit' in sys.modules)"],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True) for m in modules}
    answers = {m: run.communicate()[0].strip() for m, run in runs.items()}
    assert all(a in ("True", "False") for a in answers.values()), answers  # each import itself worked
    return [m for m, a in answers.items() if a == "True"]


@pytest.mark.parametrize("module", ["cli", "report", "bench", "metrics", "export", "notify"])
def test_the_command_line_the_pack_and_the_benchmark_do_not_load_streamlit(module):
    assert loading_streamlit([module]) == []


def test_no_module_outside_the_browser_layer_loads_streamlit():
    assert loading_streamlit(PLAIN_MODULES) == []  # the command line imports many only when a command needs them


def test_a_browser_module_does_load_streamlit():
    assert loading_streamlit(["sidebar", "drill"]) == ["sidebar", "drill"]  # the check above can tell
