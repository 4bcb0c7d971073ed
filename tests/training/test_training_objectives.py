"""The training objective: at least one term, and the terms it has add up as configured."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fer_engine.errors import ConfigError
from fer_engine.training.objectives import Objective


def test_an_objective_without_any_term_is_refused_when_built() -> None:
    with pytest.raises(ConfigError, match="cross-entropy term, a triplet term or both"):
        Objective(None, None)


def test_cross_entropy_alone_is_the_loss() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 7), torch.randint(0, 7, (8,))
    total, parts = Objective(nn.CrossEntropyLoss(), None)(torch.randn(8, 16), logits, labels)
    assert torch.allclose(total, nn.functional.cross_entropy(logits, labels))
    assert set(parts) == {"ce_loss"}
