"""book/gpu.md runs as written, at smoke size: stage 1 for every (backbone, optimizer) the grid uses.

The page's commands are taken from its ``bash`` blocks (all but ``mstl book``, whose notebooks the smoke
book runs); only the settings block (the shell variables
the page sets to the paper's values) is replaced by smoke-sized values: the small ``resnet10``,
synthetic data, and still all three of the paper's optimizers, so that the stage-1 loop has to cover
every optimizer the grid then asks for.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "gpu.md"

SMOKE_SETTINGS = """PROFILE=smoke
BACKBONES="resnet10"
OPTIMIZERS="sgd adam adagrad"
US=synth/ultrasound
KIND=folder
CELLS=synth/cells
PER_CLASS=24
"""


def recipe_blocks() -> list[str]:
    """The page's bash blocks from 'Settings and data' on (installing and fetching weights is left out)."""
    text = PAGE.read_text()
    recipe = text[text.index("## 2. Settings and data") : text.index("## Several GPUs")]
    return re.findall(r"```bash\n(.*?)```", recipe, re.S)


def test_the_page_sets_the_papers_settings_and_loops_over_every_optimizer():
    blocks = recipe_blocks()
    settings = blocks[0]
    assert 'OPTIMIZERS="sgd adam adagrad"' in settings and "PROFILE=paper" in settings
    assert 'BACKBONES="resnet50 inceptionv3 efficientnetb2"' in settings
    assert set(re.findall(r"^(\w+)=", SMOKE_SETTINGS, re.M)) == set(re.findall(r"^(\w+)=", settings, re.M))
    body = "\n".join(blocks[1:])
    assert "for o in $OPTIMIZERS" in body and "--optimizer $o" in body
    assert "--optimizers $OPTIMIZERS" in body and "--backbones $BACKBONES" in body
    # the notebooks at the paper's scale are the one block the smoke run leaves out (the smoke book covers them)
    assert sum("mstl book" in block for block in blocks) == 1


@pytest.mark.slow
def test_the_recipe_runs_as_written_at_smoke_size(tmp_path):
    blocks = recipe_blocks()
    body = [b for b in blocks[1:] if "mstl book" not in b]
    script = "\n".join(
        [
            "set -euo pipefail",
            f'mstl() {{ "{sys.executable}" -m mstl_lib "$@"; }}',
            "mstl synth synth --size smoke -q",
            SMOKE_SETTINGS,
            *body,
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    for optimizer in ("sgd", "adam", "adagrad"):
        assert (tmp_path / "runs" / "stage1" / f"resnet10-{optimizer}" / "model.keras").is_file(), optimizer
    results = {p.parent.name for p in (tmp_path / "runs" / "grid" / "results").glob("*/fold*.json")}
    assert results == {f"{arm}-resnet10-{o}" for arm in ("ctl", "mstl") for o in ("sgd", "adam", "adagrad")}
    assert "Table 1" in done.stdout
