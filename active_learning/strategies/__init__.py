"""Query strategies, one per module, behind one interface; importing this registers them."""

from active_learning.strategies import batch_mix, entropy, least_confidence, margin, random_order
from active_learning.strategies.base import get_strategy, strategy_choices

__all__ = [
    "batch_mix",
    "entropy",
    "get_strategy",
    "least_confidence",
    "margin",
    "random_order",
    "strategy_choices",
]
