"""One module per tracker framework behind one small common interface (see adapters/base.py)."""
