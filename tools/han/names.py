"""Names for the decoder's output (python -m tools.han decode): MAC, NWK and APS command
identifiers, ZDP clusters, ZCL profile-wide commands. Kept in the tool so that it does
not depend on firmware tables that change with the stack.

Sources: IEEE 802.15.4-2006 Table 82 and -2015 Table 7-49 (MAC commands); ZigBee
specification 05-3474 Table 3-40 (NWK commands), Table 4-27 (APS commands), 2.4.3/2.4.4
(ZDP clusters); ZCL 07-5123 Table 2-3 (profile-wide commands).
"""

MAC_COMMANDS = {
    0x01: "Association Request", 0x02: "Association Response",
    0x03: "Disassociation Notification", 0x04: "Data Request",
    0x05: "PAN ID Conflict Notification", 0x06: "Orphan Notification",
    0x07: "Beacon Request", 0x08: "Coordinator Realignment", 0x09: "GTS Request",
    0x0A: "TRLE Management Request", 0x0B: "TRLE Management Response",
    0x13: "DSME Association Request", 0x14: "DSME Association Response",
    0x20: "Enhanced Beacon Request",
}

MAC_FRAME_TYPES = {0: "beacon", 1: "data", 2: "ack", 3: "command", 4: "reserved",
                   5: "multipurpose", 6: "fragment", 7: "extended"}

NWK_FRAME_TYPES = {0: "data", 1: "command", 3: "inter-pan"}

NWK_COMMANDS = {
    0x01: "Route Request", 0x02: "Route Reply", 0x03: "Network Status", 0x04: "Leave",
    0x05: "Route Record", 0x06: "Rejoin Request", 0x07: "Rejoin Response",
    0x08: "Link Status", 0x09: "Network Report", 0x0A: "Network Update",
    0x0B: "End Device Timeout Request", 0x0C: "End Device Timeout Response",
    0x0D: "Link Power Delta", 0x0E: "Network Commissioning Request",
    0x0F: "Network Commissioning Response",
}

APS_FRAME_TYPES = {0: "data", 1: "command", 2: "ack", 3: "inter-pan"}
APS_DELIVERY = {0: "unicast", 1: "indirect", 2: "broadcast", 3: "group"}

APS_COMMANDS = {
    0x01: "SKKE-1", 0x02: "SKKE-2", 0x03: "SKKE-3", 0x04: "SKKE-4",
    0x05: "Transport Key", 0x06: "Update Device", 0x07: "Remove Device",
    0x08: "Request Key", 0x09: "Switch Key", 0x0A: "EA Initiator Challenge",
    0x0B: "EA Responder Challenge", 0x0C: "EA Initiator MAC and Data",
    0x0D: "EA Responder MAC and Data", 0x0E: "Tunnel", 0x0F: "Verify Key",
    0x10: "Confirm Key", 0x11: "Relay Message Downstream",
    0x12: "Relay Message Upstream",
}

# APS Transport Key / Request Key key types (4.4.11.1.1, Table 4-28).
KEY_TYPES = {0x00: "Trust Center Master Key", 0x01: "Standard Network Key",
             0x02: "Application Master Key", 0x03: "Application Link Key",
             0x04: "Trust Center Link Key", 0x05: "High-Security Network Key"}

# Key identifier of the NWK/APS auxiliary header (4.5.1.1.2).
SEC_KEY_IDS = {0: "link", 1: "network", 2: "key-transport", 3: "key-load"}

ZDP_REQUESTS = {
    0x0000: "NWK_addr", 0x0001: "IEEE_addr", 0x0002: "Node_Desc", 0x0003: "Power_Desc",
    0x0004: "Simple_Desc", 0x0005: "Active_EP", 0x0006: "Match_Desc",
    0x0010: "Complex_Desc", 0x0011: "User_Desc", 0x0012: "Discovery_Cache",
    0x0013: "Device_annce", 0x0014: "User_Desc_set", 0x0015: "System_Server_Discovery",
    0x0016: "Discovery_store", 0x0017: "Node_Desc_store", 0x0018: "Power_Desc_store",
    0x0019: "Active_EP_store", 0x001A: "Simple_Desc_store", 0x001B: "Remove_node_cache",
    0x001C: "Find_node_cache", 0x001D: "Extended_Simple_Desc",
    0x001E: "Extended_Active_EP", 0x001F: "Parent_annce", 0x0020: "End_Device_Bind",
    0x0021: "Bind", 0x0022: "Unbind", 0x0023: "Bind_Register",
    0x0024: "Replace_Device", 0x0025: "Store_Bkup_Bind_Entry",
    0x0026: "Remove_Bkup_Bind_Entry", 0x0027: "Backup_Bind_Table",
    0x0028: "Recover_Bind_Table", 0x0029: "Backup_Source_Bind",
    0x002A: "Recover_Source_Bind", 0x0030: "Mgmt_NWK_Disc", 0x0031: "Mgmt_Lqi",
    0x0032: "Mgmt_Rtg", 0x0033: "Mgmt_Bind", 0x0034: "Mgmt_Leave",
    0x0035: "Mgmt_Direct_Join", 0x0036: "Mgmt_Permit_Joining", 0x0037: "Mgmt_Cache",
    0x0038: "Mgmt_NWK_Update", 0x0039: "Mgmt_NWK_Enhanced_Update",
    0x003A: "Mgmt_NWK_IEEE_Joining_List", 0x003C: "Mgmt_NWK_Beacon_Survey",
}

ZCL_GENERAL = {
    0x00: "Read Attributes", 0x01: "Read Attributes Response",
    0x02: "Write Attributes", 0x03: "Write Attributes Undivided",
    0x04: "Write Attributes Response", 0x05: "Write Attributes No Response",
    0x06: "Configure Reporting", 0x07: "Configure Reporting Response",
    0x08: "Read Reporting Configuration", 0x09: "Read Reporting Configuration Response",
    0x0A: "Report Attributes", 0x0B: "Default Response", 0x0C: "Discover Attributes",
    0x0D: "Discover Attributes Response", 0x0E: "Read Attributes Structured",
    0x0F: "Write Attributes Structured", 0x10: "Write Attributes Structured Response",
    0x11: "Discover Commands Received", 0x12: "Discover Commands Received Response",
    0x13: "Discover Commands Generated", 0x14: "Discover Commands Generated Response",
    0x15: "Discover Attributes Extended", 0x16: "Discover Attributes Extended Response",
}

# Application profiles whose APS payload is a ZCL frame (ZigBee public profiles and
# ZLL); other (manufacturer) profiles are left undecoded, as Wireshark does.
ZCL_PROFILES = (0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x0106, 0x0107, 0x0108, 0x0109,
                0xC05E)


def zdp_name(cluster):
    base = ZDP_REQUESTS.get(cluster & 0x7FFF)
    if base is None:
        return None
    if cluster & 0x8000:
        return base + "_rsp"
    return base if cluster in (0x0013, 0x0014, 0x001F) else base + "_req"
