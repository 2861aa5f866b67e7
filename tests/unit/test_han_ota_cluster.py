# OTA Upgrade cluster 0x0019 payloads (firmware/han/ota/cluster.py) against octets worked
# out by hand from ZCL 07-5123 chapter 11 (all fields little endian), both ways, and
# building without allocation. Portable: tiers 1 and 2.
from han.ota import cluster as oc
from support import NoAllocation, raises

OUT = bytearray(64)


def _hex(n):
    return bytes(OUT[:n]).hex()


def test_image_notify_payload_types_0_to_3():
    # type u8, jitter u8, then manufacturer 0x1234, image type 0x0001, version 0x01020305.
    assert _hex(oc.put_image_notify(OUT, 0, 0, 50)) == "0032"
    n = oc.put_image_notify(OUT, 0, 1, 100, 0x1234)
    assert _hex(n) == "0164" "3412"
    n = oc.put_image_notify(OUT, 0, 2, 100, 0x1234, 0x0001)
    assert _hex(n) == "0264" "3412" "0100"
    n = oc.put_image_notify(OUT, 0, 3, 100, 0x1234, 0x0001, 0x01020305)
    assert _hex(n) == "0364" "3412" "0100" "05030201"
    f = oc.parse(oc.IMAGE_NOTIFY, OUT, 0, n, oc.OtaFields())
    assert (f.payload_type, f.jitter, f.manufacturer, f.image_type, f.file_version) == \
        (3, 100, 0x1234, 1, 0x01020305)
    f = oc.parse(oc.IMAGE_NOTIFY, bytes.fromhex("0164" "3412"), 0, 4, oc.OtaFields())
    assert (f.payload_type, f.manufacturer, f.image_type, f.file_version) == (1, 0x1234, -1, -1)
    raises(ValueError, oc.parse, oc.IMAGE_NOTIFY, bytes.fromhex("0364" "3412" "0100"), 0, 6,
           oc.OtaFields())
    raises(ValueError, oc.parse, oc.IMAGE_NOTIFY, bytes.fromhex("0464"), 0, 2, oc.OtaFields())


def test_query_next_image_request_and_response():
    n = oc.put_query_next_request(OUT, 0, 0x1234, 0x0001, 0x01020304)
    assert _hex(n) == "00" "3412" "0100" "04030201"
    n = oc.put_query_next_request(OUT, 0, 0x1234, 0x0001, 0x01020304, hw_version=0x0102)
    assert _hex(n) == "01" "3412" "0100" "04030201" "0201"
    f = oc.parse(oc.QUERY_NEXT_IMAGE_REQ, OUT, 0, n, oc.OtaFields())
    assert (f.manufacturer, f.image_type, f.file_version, f.hw_version) == \
        (0x1234, 1, 0x01020304, 0x0102)
    n = oc.put_query_next_response(OUT, 0, oc.SUCCESS, 0x1234, 0x0001, 0x01020305, 2000)
    assert _hex(n) == "00" "3412" "0100" "05030201" "d0070000"
    f = oc.parse(oc.QUERY_NEXT_IMAGE_RSP, OUT, 0, n, oc.OtaFields())
    assert (f.status, f.file_version, f.image_size) == (0, 0x01020305, 2000)
    n = oc.put_query_next_response(OUT, 0, oc.NO_IMAGE_AVAILABLE)
    assert _hex(n) == "98"
    assert oc.parse(oc.QUERY_NEXT_IMAGE_RSP, OUT, 0, 1, oc.OtaFields()).status == 0x98


def test_image_block_request_field_control():
    n = oc.put_block_request(OUT, 0, 0x1234, 0x0001, 0x01020305, 0x80, 64)
    assert _hex(n) == "00" "3412" "0100" "05030201" "80000000" "40"
    ieee = bytes.fromhex("01A547000BA30400")
    n = oc.put_block_request(OUT, 0, 0x1234, 0x0001, 0x01020305, 0x80, 64, ieee, 250)
    assert _hex(n) == ("03" "3412" "0100" "05030201" "80000000" "40" "01a547000ba30400"
                       "fa00")
    f = oc.parse(oc.IMAGE_BLOCK_REQ, OUT, 0, n, oc.OtaFields())
    assert (f.file_offset, f.max_data, f.ieee_present, bytes(f.ieee), f.block_delay) == \
        (0x80, 64, True, ieee, 250)
    n = oc.put_block_request(OUT, 0, 0x1234, 0x0001, 0x01020305, 0x80, 64, None, 0)
    assert _hex(n) == "02" "3412" "0100" "05030201" "80000000" "40" "0000"
    f = oc.parse(oc.IMAGE_BLOCK_REQ, OUT, 0, n, oc.OtaFields())
    assert (f.ieee_present, f.block_delay) == (False, 0)
    # Field control says the delay follows: it must.
    raises(ValueError, oc.parse, oc.IMAGE_BLOCK_REQ, OUT, 0, n - 2, oc.OtaFields())


def test_image_block_response_success_wait_abort():
    p = oc.put_block_response(OUT, 0, 0x1234, 0x0001, 0x01020305, 0x40, 3)
    OUT[p:p + 3] = b"\xaa\xbb\xcc"
    assert _hex(p + 3) == "00" "3412" "0100" "05030201" "40000000" "03" "aabbcc"
    f = oc.parse(oc.IMAGE_BLOCK_RSP, OUT, 0, p + 3, oc.OtaFields())
    assert (f.status, f.file_offset, f.data_len, f.data_off) == (0, 0x40, 3, 14)
    raises(ValueError, oc.parse, oc.IMAGE_BLOCK_RSP, OUT, 0, p + 2, oc.OtaFields())
    # WAIT_FOR_DATA: current time 0x30A1B2C3, request time 2 s later, period 1000 ms.
    n = oc.put_block_wait(OUT, 0, 0x30A1B2C3, 0x30A1B2C5, 1000)
    assert _hex(n) == "97" "c3b2a130" "c5b2a130" "e803"
    f = oc.parse(oc.IMAGE_BLOCK_RSP, OUT, 0, n, oc.OtaFields())
    assert (f.status, f.current_time, f.request_time, f.min_period) == \
        (0x97, 0x30A1B2C3, 0x30A1B2C5, 1000)
    # An older server leaves the period out.
    assert oc.parse(oc.IMAGE_BLOCK_RSP, OUT, 0, 9, oc.OtaFields()).min_period == -1
    assert _hex(oc.put_status(OUT, 0, oc.ABORT)) == "95"
    assert oc.parse(oc.IMAGE_BLOCK_RSP, OUT, 0, 1, oc.OtaFields()).status == 0x95


def test_upgrade_end_request_and_response():
    n = oc.put_end_request(OUT, 0, oc.SUCCESS, 0x1234, 0x0001, 0x01020305)
    assert _hex(n) == "00" "3412" "0100" "05030201"
    n = oc.put_end_request(OUT, 0, oc.INVALID_IMAGE, 0x1234, 0x0001, 0x01020305)
    assert _hex(n) == "96" "3412" "0100" "05030201"
    f = oc.parse(oc.UPGRADE_END_REQ, OUT, 0, n, oc.OtaFields())
    assert (f.status, f.manufacturer, f.file_version) == (0x96, 0x1234, 0x01020305)
    n = oc.put_end_response(OUT, 0, 0x1234, 0x0001, 0x01020305, 0x30A1B2C3, 0)
    assert _hex(n) == "3412" "0100" "05030201" "c3b2a130" "00000000"
    f = oc.parse(oc.UPGRADE_END_RSP, OUT, 0, n, oc.OtaFields())
    assert (f.current_time, f.upgrade_time) == (0x30A1B2C3, 0)
    raises(ValueError, oc.parse, 0x04, OUT, 0, n, oc.OtaFields())


def test_attribute_ids():
    assert (oc.A_UPGRADE_SERVER_ID, oc.A_FILE_OFFSET, oc.A_CURRENT_FILE_VERSION,
            oc.A_IMAGE_UPGRADE_STATUS, oc.A_MANUFACTURER_ID, oc.A_IMAGE_TYPE_ID,
            oc.A_MINIMUM_BLOCK_PERIOD) == (0, 1, 2, 6, 7, 8, 9)


def test_codec_allocates_nothing():
    f = oc.OtaFields()
    buf = bytearray(64)
    with NoAllocation():
        for _ in range(3):
            p = oc.put_block_response(buf, 0, 0x1234, 1, 0x01020305, 0x40, 16)
            oc.parse(oc.IMAGE_BLOCK_RSP, buf, 0, p + 16, f)
            n = oc.put_block_request(buf, 0, 0x1234, 1, 0x01020305, 0x40, 64, None, 250)
            oc.parse(oc.IMAGE_BLOCK_REQ, buf, 0, n, f)
            n = oc.put_block_wait(buf, 0, 1000, 1002, 500)
            oc.parse(oc.IMAGE_BLOCK_RSP, buf, 0, n, f)
    assert f.min_period == 500
