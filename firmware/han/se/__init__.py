# Smart Energy cluster servers (ZigBee Smart Energy profile 0x0109 over the ZCL codec in
# han/zcl): Basic, Identify, Time (and the Time client an end device syncs with), Metering,
# with the units every Metering reader needs (units.py) and the sources that feed Metering
# from the registers (sources.py). Price and Messaging live beside them.
#
# Each server is a server.ClusterServer: cluster_id, an attribute table (han.zcl.dispatch)
# and handle(h, buf, off, end, out, unicast) -> the length of the response frame written
# into out (0: nothing to send; -1: not for this server, e.g. a response, a report, or a
# reporting command another engine handles). The node routes (endpoint, cluster) to it.
