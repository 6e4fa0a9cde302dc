"""The pieces behind sandbox.py, one job each. The standard library, python-dotenv and packaging only: sandbox.py runs before anything is installed."""
