# ZigBee Cluster Library (ZCL revision 6, 07-5123): the codec layer. frame.py is the ZCL
# header, types.py the attribute data types, general.py and reporting.py the profile-wide
# commands, dispatch.py an attribute table that answers Read/Write/Discover Attributes.
# Pure codecs over caller buffers, no I/O; the clusters sit on top of them.
