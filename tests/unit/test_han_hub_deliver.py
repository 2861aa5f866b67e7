# Store-and-forward of the hub's pushes (firmware/han/hub/deliver.py over hub/forward.py):
# the hub of test_han_se_ihd.py given its record store, one display. A message set while
# the display is away waits in the queue and reaches it when it is back; a hub that loses
# power meanwhile still delivers it after its reboot; a newer message supersedes the one
# waiting; the display shows and confirms each message once; the queue is empty after the
# APS acks. Portable: tiers 1 and 2.
from han.hub.forward import CONFIG
from han.node import JOINER_ADD, joiner_handler
from test_han_node import CODE, DEVICE
from test_han_se_ihd import IhdBench, T0


class DeliverBench(IhdBench):
    def make_hub(self):
        # The hub's flash: its ZigBee state and its queue share the record store.
        self.overwritten = getattr(self, "overwritten", [])
        return IhdBench.make_hub(self, store=self.coord_store,
                                 on_overwritten=lambda ext, kind, i: self.overwritten.append(
                                     (bytes(ext), kind, i)))

    def display_away(self):
        self._radio = self.device.zb.mac.radio
        self._radio.off()
        self.medium.radios.remove(self._radio)

    def display_back(self):
        self.medium.radios.append(self._radio)
        self._radio.on()


def _joined():
    b = DeliverBench()
    b.run(2)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    b.run(12)
    assert "han zigbee joined short 0x0001 tclk verified" in b.lines
    b.run(20)  # subscribed (Get Current Price, Get Last Message)
    assert b.hub.deliver.queue.count == 0
    return b


def _message_ids(b):
    return [m for (m, t) in b.confirmed]


def test_a_message_waits_for_a_display_that_is_away():
    b = _joined()
    d, q = b.hub.deliver, b.hub.deliver.queue
    b.display_away()
    b.regs.text.set(b"Meter reading on Monday")
    b.run(5)
    assert q.count == 1 and d.delivered == 0
    # Sent, not acknowledged (APS NO_ACK): kept, tried again every 30 s.
    b.run(60)
    assert q.count == 1 and b.ihd.view()["message"] is None and d.retries >= 2
    b.display_back()
    b.run(40)
    v = b.ihd.view()
    assert v["message"] == "Meter reading on Monday"
    assert q.count == 0 and d.delivered == 1
    assert _message_ids(b) == [v["message_id"]]  # confirmed once


def test_a_message_survives_the_hubs_power_cut():
    b = _joined()
    b.display_away()
    b.regs.text.set(b"Tarif change 1 Jan")
    b.run(5)
    assert b.hub.deliver.queue.count == 1
    b.kill_coordinator()
    b.run(1)
    b.coord = b.boot_coordinator(seed=5)  # same flash
    assert b.hub.deliver.queue.count == 1  # read back from the records
    b.display_back()
    b.run(60)
    v = b.ihd.view()
    assert v["message"] == "Tarif change 1 Jan"
    assert b.hub.deliver.queue.count == 0 and b.hub.deliver.delivered == 1
    assert _message_ids(b) == [v["message_id"]]


def test_a_newer_message_supersedes_the_one_waiting():
    b = _joined()
    q = b.hub.deliver.queue
    b.display_away()
    b.regs.text.set(b"first")
    b.run(3)
    b.regs.text.set(b"second")
    b.run(3)
    assert q.count == 1 and q.superseded == 1
    b.display_back()
    b.run(40)
    v = b.ihd.view()
    assert v["message"] == "second" and q.count == 0
    assert _message_ids(b) == [v["message_id"]]


def test_a_full_queue_overwrites_with_an_event():
    b = _joined()
    q = b.hub.deliver.queue
    b.display_away()
    ext = bytes(b.coord.zb.table.ext[0])
    ids = [q.enqueue(0, ext, CONFIG, b"cfg%d" % i, T0) for i in range(4)]
    assert q.count == 4 and b.overwritten == []
    b.regs.text.set(b"fifth")  # a fifth item for the device: its oldest goes, with event
    b.run(2)
    assert b.overwritten == [(ext, CONFIG, ids[0])]
    assert q.count == 4
