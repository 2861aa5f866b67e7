# Trust centre of the ZigBee network (issue 11): key primitives first (keys.py).
