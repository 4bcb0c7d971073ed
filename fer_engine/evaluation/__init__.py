"""Scores of a run's heads on each split, stored evaluations, cross-dataset scoring and the paper-layout report.

Metrics and the paper's numbers live one layer lower, in `fer_engine.scoring`."""
