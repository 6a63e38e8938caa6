"""The decoder families a recipe may name, by ``[decoder] family``."""

from __future__ import annotations

from typing import Any

from decoders.training.bandpower_logreg import BandPowerLogReg
from decoders.training.csp_lda import CspLda
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.minirocket import MiniRocket
from decoders.training.segment_means import SegmentMeans
from decoders.training.slow_and_gamma import SlowAndGamma
from decoders.training.tangent_space import TangentSpace

__all__ = ["FAMILIES", "make_family"]

#: Family name -> class; each class has a ``Config`` dataclass for the ``[decoder]`` table.
FAMILIES: dict[str, type[Any]] = {
    SegmentMeans.name: SegmentMeans,
    BandPowerLogReg.name: BandPowerLogReg,
    CspLda.name: CspLda,
    SlowAndGamma.name: SlowAndGamma,
    TangentSpace.name: TangentSpace,
    MiniRocket.name: MiniRocket,
}


def make_family(
    name: str, config: Any, shape: WindowShape, n_classes: int, seed: int = 0
) -> FeatureFamily:
    """Build an unfitted decoder of family ``name`` (a key of :data:`FAMILIES`)."""
    family: FeatureFamily = FAMILIES[name](config, shape, n_classes, seed)
    return family
