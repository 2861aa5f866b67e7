# ZigBee OTA Upgrade (cluster 0x0019): the OTA file format and its verification (image.py,
# with the streaming AES-MMO hash in mmo.py) and the archive of firmware files an upgrade
# image carries (archive.py). The cluster's server and client build on these.
