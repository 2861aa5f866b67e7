# HAN: IEEE 802.15.4 MAC and the upper layers of the comms hub (built by the HAN issue).
