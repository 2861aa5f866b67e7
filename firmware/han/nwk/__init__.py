# ZigBee PRO network layer: frame codec (frame.py) and NWK frame security (security.py).
# Pure codecs over caller buffers, no I/O; the NWK state machines will sit on top of them.
