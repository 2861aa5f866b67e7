# The provisioning record (firmware/app/provision.py): identity and keys of one meter.
from app import provision
from native.crc16 import crc16_x25
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import raises

# ../shared/reference/HAN.md: install code 83FED3407A939723A5C639B26916D505 has the CRC
# C3B5 (bytes as transmitted, little endian) and the link key 66B69009...
CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505")
CODE_WITH_CRC = CODE + bytes.fromhex("C3B5")


def _full():
    return provision.Provisioning(
        serial=b"MTR-000123", p1_equipment_id=b"E0043007123456789",
        system_title=bytes.fromhex("4D50590000000123"),
        han_eui64=bytes.fromhex("0004A30B00C0FFEE"), han_install_code=CODE_WITH_CRC,
        p1_key=bytes(range(16)), config_key=b"k" * 32, han_network_key=bytes(range(16, 32)))


def test_crc16_x25_check_value_and_install_code_vector():
    assert crc16_x25(b"123456789") == 0x906E  # the catalogue's check value of CRC-16/X-25
    assert crc16_x25(CODE) == 0xB5C3


def test_record_layout_is_tag_length_value_in_tag_order():
    rec = provision.Provisioning(serial=b"AB", han_eui64=bytes.fromhex("0004A30B00C0FFEE"),
                                 p1_equipment_id=b"E1").encode()
    assert rec == bytes.fromhex("01024142" "02024531" "04080004A30B00C0FFEE")


def test_round_trip_through_the_record_store():
    store = RecordStore(MemoryFs(atomic=True), max_payload=1024)
    assert provision.load(store) is None
    provision.save(store, _full())
    got = provision.load(store)
    assert got.serial == b"MTR-000123"
    assert got.p1_equipment_id == b"E0043007123456789"
    assert got.han_install_code == CODE_WITH_CRC
    assert got.p1_key == bytes(range(16))
    assert got.han_network_key == bytes(range(16, 32))
    assert got.summary() == ("serial=MTR-000123 keys=p1_key,config_key,han_network_key,"
                             "han_install_code")


def test_bad_fields_are_refused_whole():
    P = provision.Provisioning
    raises(ValueError, P, p1_equipment_id=b"E1")  # no serial
    raises(ValueError, P, serial=b"")
    raises(ValueError, P, serial=b"x" * 33)
    raises(ValueError, P, serial=b"has space")
    raises(ValueError, P, serial=b"ok", p1_equipment_id=b"E\x00")
    raises(ValueError, P, serial=b"ok", p1_equipment_id=b"E" * 49)
    raises(ValueError, P, serial=b"ok", system_title=b"1234567")
    raises(ValueError, P, serial=b"ok", han_eui64=b"\xff" * 8)
    raises(ValueError, P, serial=b"ok", han_eui64=b"\x00" * 8)
    raises(ValueError, P, serial=b"ok", han_install_code=CODE + b"\xc3\xb4")  # bad CRC
    raises(ValueError, P, serial=b"ok", han_install_code=CODE)  # no CRC at all
    raises(ValueError, P, serial=b"ok", p1_key=b"k" * 15)
    raises(ValueError, P, serial=b"ok", config_key=b"k" * 15)
    raises(ValueError, P, serial=b"ok", config_key=b"k" * 65)
    raises(ValueError, P, serial=b"ok", colour=b"red")


def test_six_byte_install_code_with_its_crc_is_accepted():
    code = bytes.fromhex("0123456789AB")
    crc = crc16_x25(code)
    p = provision.Provisioning(serial=b"s", han_install_code=code + bytes((crc & 255, crc >> 8)))
    assert len(p.han_install_code) == 8


def test_decode_refuses_unknown_duplicate_and_truncated_fields():
    D = provision.Provisioning.decode
    raises(ValueError, D, b"\x01\x02AB\x20\x01x")  # unknown tag 0x20
    raises(ValueError, D, b"\x01\x02AB\x01\x02CD")  # serial twice
    raises(ValueError, D, b"\x01\x05AB")  # value shorter than its length
    raises(ValueError, D, b"\x01\x02AB\x02")  # a lone tag
    raises(ValueError, D, b"\x01\x02AB" + b"\x07\xff" + b"k" * 255)  # 263 bytes
    assert D(b"\x01\x02AB").serial == b"AB"


def test_a_corrupt_stored_record_reads_as_unprovisioned():
    store = RecordStore(MemoryFs(atomic=True), max_payload=1024)
    slots = store.slots("provision", 0x90, provision.MAX_RECORD)
    bad = b"\x01\x02AB\x04\x08" + b"\xff" * 8  # well framed, reserved EUI-64
    slots.save(bad, len(bad))
    assert provision.load(store) is None


def test_network_fields_for_the_clock_from_ntp():
    p = provision.Provisioning(serial=b"s", wifi_ssid=b"home \xe2\x98\x83", wifi_psk=b"a pass phrase",
                               ntp_server=b"ntp.example.org")
    assert provision.Provisioning.decode(p.encode()).wifi_psk == b"a pass phrase"
    assert p.summary() == "serial=s keys=none ntp=ntp.example.org"
    raises(ValueError, provision.Provisioning, serial=b"s", wifi_psk=b"short")
    raises(ValueError, provision.Provisioning, serial=b"s", wifi_psk=b"tab\tin it")
    raises(ValueError, provision.Provisioning, serial=b"s", ntp_server=b"has space")
