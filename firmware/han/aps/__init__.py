# ZigBee APS sublayer (ZigBee spec 05-3474, 2.2): frame codec and APS frame security.
