# Basic cluster server 0x0000 (ZCL revision 6, 07-5123, 3.2): the device's identity as
# configured when it is built (provisioning and firmware version), read only.
#
#   BasicServer(zcl_version=2, app_version=0, stack_version=0, hw_version=0,
#               manufacturer=b"", model=b"", date_code=b"", power_source=POWER_MAINS_1PH,
#               sw_build_id=b"")
#
# Reset to Factory Defaults (command 0x00, optional) is refused: nothing on the HAN may
# reset a meter (ARCHITECTURE: the meter is written only through the configuration path).
from micropython import const

from han.se.server import ClusterServer
from han.zcl import dispatch as zd
from han.zcl import types as zt

CLUSTER = const(0x0000)

# Attributes, 3.2.2.2 (Table 3-7).
ZCL_VERSION = const(0x0000)
APPLICATION_VERSION = const(0x0001)
STACK_VERSION = const(0x0002)
HW_VERSION = const(0x0003)
MANUFACTURER_NAME = const(0x0004)
MODEL_IDENTIFIER = const(0x0005)
DATE_CODE = const(0x0006)
POWER_SOURCE = const(0x0007)
SW_BUILD_ID = const(0x4000)

# PowerSource values, 3.2.2.2.8: bits 0-6 the source, bit 7 a battery backup.
POWER_UNKNOWN = const(0x00)
POWER_MAINS_1PH = const(0x01)
POWER_MAINS_3PH = const(0x02)
POWER_BATTERY = const(0x03)
POWER_DC = const(0x04)
POWER_BATTERY_BACKUP = const(0x80)

# Longest strings, Table 3-7.
_NAME_MAX = const(32)   # ManufacturerName, ModelIdentifier
_CODE_MAX = const(16)   # DateCode, SWBuildID


def _text(value, limit, what):
    b = bytes(value)
    if len(b) > limit:
        raise ValueError("%s longer than %d octets" % (what, limit))
    return b


class BasicServer(ClusterServer):
    def __init__(self, zcl_version=2, app_version=0, stack_version=0, hw_version=0,
                 manufacturer=b"", model=b"", date_code=b"", power_source=POWER_MAINS_1PH,
                 sw_build_id=b""):
        r = zd.READ
        attrs = [
            zd.Attr(ZCL_VERSION, zt.UINT8, r, value=zcl_version),
            zd.Attr(APPLICATION_VERSION, zt.UINT8, r, value=app_version),
            zd.Attr(STACK_VERSION, zt.UINT8, r, value=stack_version),
            zd.Attr(HW_VERSION, zt.UINT8, r, value=hw_version),
            zd.Attr(MANUFACTURER_NAME, zt.CHAR_STR, r,
                    value=_text(manufacturer, _NAME_MAX, "ManufacturerName")),
            zd.Attr(MODEL_IDENTIFIER, zt.CHAR_STR, r,
                    value=_text(model, _NAME_MAX, "ModelIdentifier")),
            zd.Attr(DATE_CODE, zt.CHAR_STR, r, value=_text(date_code, _CODE_MAX, "DateCode")),
            zd.Attr(POWER_SOURCE, zt.ENUM8, r, value=power_source),
            zd.Attr(SW_BUILD_ID, zt.CHAR_STR, r,
                    value=_text(sw_build_id, _CODE_MAX, "SWBuildID")),
        ]
        for a in attrs[:4] + attrs[7:8]:
            if not 0 <= a.value <= 0xFF:
                raise ValueError("Basic attribute 0x%04x out of range" % a.attr_id)
        ClusterServer.__init__(self, CLUSTER, zd.AttrTable(attrs))
