"""Stage `report`: the headline metrics, the paper's figures and the Markdown report from every training run.

    python stages/report.py

Writes metrics/summary.json, plots/*.png and reports/report.md; reads metrics/ and results/ of the training stages.
"""

from ecaser.infra import params
from ecaser import report
from ecaser.infra.errors import exit_on_input_error


@exit_on_input_error
def main():
    report.build(params.load())


if __name__ == "__main__":
    main()
