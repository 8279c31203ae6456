"""The public surface and the layer rule of the features package."""

from __future__ import annotations

import subprocess
import sys

import cadence.features as features


def test_all_lists_exactly_the_public_names() -> None:
    public = {n for n in dir(features) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(features, n)).__name__ == "module"}
    assert set(features.__all__) == public - modules
    assert features.__all__ == sorted(features.__all__)
    for name in features.__all__:
        assert getattr(features, name) is not None


def test_importing_features_loads_no_database_tracking_or_web_library() -> None:
    code = (
        "import sys, cadence.features; "
        "bad = [m for m in ('sqlalchemy', 'mlflow', 'fastapi', 'uvicorn', 'alembic', "
        "'cadence.store', 'cadence.models', 'cadence.features.stance') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
