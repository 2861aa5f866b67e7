# IEEE 802.15.4 MAC: frame codec (frame.py, fcs.py), CCM* security (ccm.py, security.py),
# transmit/receive state machines (csma.py, mac.py). Pure codecs over caller buffers plus
# polled state machines driven by a clock; no hardware access (the radio is passed in).
