"""The pieces behind sandbox.py, one job each. Standard library and `packaging` only: sandbox.py runs before anything is installed."""
