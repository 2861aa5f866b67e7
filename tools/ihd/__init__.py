"""The in-home display on the host (python -m tools.ihd): firmware/han/se/ihd.py's Display
as a HAN node on a simulated medium server, its JSON lines, terminal view and web page."""
