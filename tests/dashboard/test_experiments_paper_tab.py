"""The Experiments page's Paper tab lists the paper's published rows from `fer_engine.scoring.paper_results`:
by default the tables of the split shown, in the paper's order, the leaked XGBoost rows flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from support.builders import finished_run

APP_FILE = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def test_paper_tab_defaults_to_the_split_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FER_DASHBOARD_MODE", "FER2013_PATH", "FER_DATA_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FER_EXAMPLES_DIR", str(tmp_path / "no-examples"))
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(finished_run(tmp_path / "made", "shipped").root))
    app = AppTest.from_file(str(APP_FILE), default_timeout=120)
    app.run()
    app.switch_page("views/experiments.py").run()
    assert not app.exception, [e.value for e in app.exception]

    picker = app.multiselect(key="paper-tables")
    assert list(picker.options) == [f"Table {n}" for n in range(3, 11)]
    assert list(picker.value) == ["Table 3", "Table 5", "Table 7"]  # the val (PublicTest) tables
    [published] = [frame.value for frame in app.dataframe if {"table", "leaked"} <= set(frame.value.columns)]
    assert len(published) == 10  # whole tables: Table 3 prints the softmax on train beside val
    assert published.loc[published["leaked"], "head"].tolist() == ["xgboost", "xgboost"]

    picker.set_value(["Table 10"]).run()
    [published] = [frame.value for frame in app.dataframe if {"table", "leaked"} <= set(frame.value.columns)]
    assert published["table"].unique().tolist() == ["Table 10"] and len(published) == 4
