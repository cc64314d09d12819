"""Distribution-alignment evaluation of run directories: the paper's Table 2 with intervals, tests and plots.

>>> from labeldist.report import evaluate_runs                 # doctest: +SKIP
>>> result = evaluate_runs(["runs/goemotions"], calibrate="dev")  # doctest: +SKIP
>>> print(result.table()); result.write("runs/eval")              # doctest: +SKIP
"""

from labeldist.report.evaluate import BASE_RATE, UNIFORM, evaluate_runs
from labeldist.report.result import Comparison, DatasetInfo, EvaluationResult, Score

__all__ = ["BASE_RATE", "UNIFORM", "Comparison", "DatasetInfo", "EvaluationResult", "Score", "evaluate_runs"]
