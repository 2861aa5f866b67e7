# python -m tools.hub: the comms hub's local services from the host (issue 13).
