"""Host tools for the HAN (IEEE 802.15.4): `python -m tools.han sim ...` (see sim.py)."""
