"""Indicators: what the МОЦ and the region measure (docs/INDICATORS.md), computed on demand.

Kept light on purpose: ``storage.enrollments`` imports ``history`` from here, so the package
itself imports no repository (the repository is ``storage.indicators.repo.IndicatorRepo``).
"""

from storage.indicators.report import Area, Catalogue, IndicatorReport, Point, Service, Share
from storage.indicators.targets import TARGETS, Indicator, Target, target_for

__all__ = [
    "TARGETS",
    "Area",
    "Catalogue",
    "Indicator",
    "IndicatorReport",
    "Point",
    "Service",
    "Share",
    "Target",
    "target_for",
]
