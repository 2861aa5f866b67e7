# Host tools for ZigBee OTA upgrade files (docs/han.md "Firmware images for the HAN (OTA)").
