"""Make docs/demo_fig11.png, the README's picture of what a run produces: the report's Fig. 11 of the demo run.

    python docs/demo_figure.py      # in the repository root, after `make repro`

plots/ is a pipeline output (DVC-cached, not in git), so the README shows a committed copy of one of its figures.
"""

import shutil

shutil.copyfile("plots/fig11_descending.png", "docs/demo_fig11.png")
