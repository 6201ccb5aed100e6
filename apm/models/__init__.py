"""APM models, one module per part; import them here so Django finds them."""

from apm.models.baseline import Baseline
from apm.models.deviation import Deviation
from apm.models.program import Program

__all__ = ["Baseline", "Deviation", "Program"]
