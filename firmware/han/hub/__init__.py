# The comms hub's own services over the HAN (issue 13; seed 003 §10.3, §11): the
# store-and-forward queue of what the hub must deliver to each device (forward.py).
