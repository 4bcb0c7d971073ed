"""The paper's Table 1 class totals, stored as data, add up to FER2013's 35,887 images."""

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.scoring.paper_results import PAPER_CLASS_TOTALS


def test_paper_class_totals_cover_every_class_and_sum_to_fer2013_size():
    assert tuple(PAPER_CLASS_TOTALS) == FER_CLASS_NAMES
    assert sum(PAPER_CLASS_TOTALS.values()) == 35_887
    assert PAPER_CLASS_TOTALS["disgust"] == 547
