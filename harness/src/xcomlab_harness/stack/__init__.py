"""The pieces behind sandbox.py, one job each. Standard library only: sandbox.py runs before anything is installed."""
