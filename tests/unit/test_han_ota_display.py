# The in-home display role is an OTA Upgrade client too (han/se/ihd.py add_ota, as
# app/han_setup.py gives it one when the provisioning has an ota_key): joined to the hub of
# test_han_se_ihd.py, which serves an image of the display's type (0x0003) from its flash,
# it is told of it (Image Notify), downloads it, verifies it, stages its files and reports
# the new version, while it goes on showing the meter's values. Images from ota_images.py
# (the test's own builder). Portable: tiers 1 and 2.
from han.node import JOINER_ADD, joiner_handler
from han.ota import image
from han.ota.client import OtaClient
from han.ota.server import OtaServer
from han.se import ihd
from ota_images import KEY, MANUFACTURER, build
from support import lcg_bytes
from test_han_node import CODE, DEVICE
from test_han_se_ihd import IhdBench

IMAGE_DISPLAY = 0x0003  # app/version.py OTA_IMAGE_DISPLAY
V1, V2 = 0x00010000, 0x00010003
FILES = [(b"han/se/ihd.py", lcg_bytes(700, 9))]


class OtaDisplayBench(IhdBench):
    def make_hub(self, **more):
        hub = IhdBench.make_hub(self, **more)
        self.server = OtaServer(self.coord_store.fs, {(MANUFACTURER, IMAGE_DISPLAY): KEY},
                                self.clock, self.regs.clock.utc, min_block_ms=250)
        hub.add_ota(self.server)
        self.server.start()
        return hub

    def make_display(self):
        d = ihd.Display(self.clock, identity=(b"meter-fw", b"ihd", b"0.1.0"))
        self.activated = []
        self.client = OtaClient(self.dev_store, self.clock, MANUFACTURER, IMAGE_DISPLAY, KEY,
                                version=V1, on_activate=lambda v, stage:
                                self.activated.append(v))
        d.add_ota(self.client)
        return d


def test_the_display_takes_its_image_over_the_air():
    b = OtaDisplayBench()
    b.run(2)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    b.run(30)
    c = b.client
    assert c.queries >= 1 and c.version == V1  # asked at start: nothing to offer
    data = build(FILES, V2, image_type=IMAGE_DISPLAY)
    with b.coord_store.fs.open("ota-ihd", "wb") as f:
        f.write(data)
    assert b.server.add("ota-ihd", b.clock.ticks_us()) == image.OK
    b.run(60)
    assert b.activated == [V2] and c.version == V2
    assert c.bytes == len(data) and b.server.bytes_served == len(data)
    fs = b.dev_store.fs
    assert bytes(fs.files["ota-stage/han/se/ihd.py"]) == FILES[0][1]
    # It kept showing the meter meanwhile.
    b.add_wh(1000)
    b.run(10)
    assert b.ihd.view()["kwh"] == "001235.567"
