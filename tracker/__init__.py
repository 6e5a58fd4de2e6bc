"""A small, fast experiment tracker that stores runs in plain SQL with native types.

    import tracker
    db = tracker.connect()                     # ./tracker.db, or any path or SQLAlchemy URL
    with db.experiment("sweep").run(params={"lr": 0.1}) as run:
        run.log({"loss": 0.5}, step=0)
        run["weights"] = array

Only the standard library is imported here; NumPy, pandas, PyArrow and SQLAlchemy load
when a value or URL first needs them.
"""

from tracker.allowlist import allow_pickle
from tracker.database import Database, Experiment, connect
from tracker.errors import TrackerError, TrackerWarning
from tracker.run import Run

__version__ = "0.1.0"
__all__ = [
    "Database",
    "Experiment",
    "Run",
    "TrackerError",
    "TrackerWarning",
    "allow_pickle",
    "connect",
]
