"""Distribution-alignment evaluation of run directories: the paper's Table 2 with intervals, tests and plots.

>>> from labeldist.report import evaluate_runs                 # doctest: +SKIP
>>> result = evaluate_runs(["runs/goemotions"], calibrate="dev")  # doctest: +SKIP
>>> print(result.table()); result.write("runs/eval")              # doctest: +SKIP
>>> from labeldist.report import write_report                  # doctest: +SKIP
>>> write_report(["runs/goemotions"], "report.html")            # doctest: +SKIP
"""

from labeldist.report.evaluate import BASE_RATE, UNIFORM, evaluate_runs
from labeldist.report.html import Report, build_report, write_report
from labeldist.report.result import Comparison, DatasetInfo, EvaluationResult, Score

__all__ = ["BASE_RATE", "UNIFORM", "Comparison", "DatasetInfo", "EvaluationResult", "Report", "Score", "build_report",
           "evaluate_runs", "write_report"]
