# Firmware identification, shown in the console banner (and later in P1's header line).
FIRMWARE_NAME = "meter-fw"
FIRMWARE_VERSION = "0.1.0"

# The HAN's firmware images (ZigBee OTA, han/ota/): our manufacturer code in the OTA header
# (not a CSA-assigned code: a maker shipping this firmware puts its own here) and an image
# type per device role; file versions are FIRMWARE_VERSION as major.minor.patch ->
# 0xMMmmpppp (file_version()).
OTA_MANUFACTURER = 0x1234
OTA_IMAGE_METER = 0x0001
OTA_IMAGE_GAS = 0x0002
OTA_IMAGE_DISPLAY = 0x0003


def file_version(text=FIRMWARE_VERSION):
    major, minor, patch = (int(x) for x in text.split("."))
    return major << 24 | minor << 16 | patch
