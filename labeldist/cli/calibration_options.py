"""``--calibration DIR`` and ``--thresholds FILE`` for ``classify`` and ``run``."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_calibration_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("calibration")
    g.add_argument("--calibration", metavar="DIR", type=Path, default=None,
                   help="calibration directory from `labeldist calibrate` (or a run directory holding calibration/): "
                        "print and record each calibrated method's calibrated probabilities, and with its "
                        "thresholds.json the predicted label sets")
    g.add_argument("--thresholds", metavar="FILE", type=Path, default=None,
                   help="thresholds.json to predict label sets with (default: the one in --calibration DIR)")
