"""Distribution-alignment evaluation of run directories: the paper's Table 2 with intervals, tests and plots.

>>> from labeldist.report import calibrate_run, evaluate_runs   # doctest: +SKIP
>>> calibrate_run("runs/goemotions", dev_split="dev")            # doctest: +SKIP
>>> result = evaluate_runs(["runs/goemotions"])                   # doctest: +SKIP
>>> print(result.table()); result.write("runs/eval")              # doctest: +SKIP
>>> from labeldist.report import write_report                  # doctest: +SKIP
>>> write_report(["runs/goemotions"], "report.html")            # doctest: +SKIP
"""

from labeldist.report.calibrate_run import CalibrationReport, calibrate_run
from labeldist.report.evaluate import BASE_RATE, UNIFORM, evaluate_runs
from labeldist.report.html import Report, build_report, write_report
from labeldist.report.result import Comparison, DatasetInfo, EvaluationResult, Score

__all__ = ["BASE_RATE", "UNIFORM", "CalibrationReport", "Comparison", "DatasetInfo", "EvaluationResult", "Report", "Score",
           "build_report", "calibrate_run", "evaluate_runs", "write_report"]
