# ZigBee Device Profile (ZigBee spec 05-3474, 2.4): the ZDO command codec (frames.py).
# Pure codec over caller buffers, no I/O; the ZDO state machines will sit on top of it.
