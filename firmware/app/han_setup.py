# The HAN's part of main's wiring (main.run(han=...)): the node for the board's radio in
# its role, with the Smart Energy application of that role, from the provisioning record
# and the registers. Kept apart from main.py so that main stays a short list of wirings.
#
#   coordinator  the hub: trust centre, han/se/hub.py over the registers' view (Metering,
#                Time, Messaging, Price from the configured prices, the gas mirror; a gas
#                meter's readings into the registers' gas mailbox)
#   device       a ZigBee end device sending the stand-in reports (interoperability, tests)
#   gas          the gas meter (han/se/gasmeter.py): sleepy, reports its register every 5 min
#   display      the in-home display (han/se/ihd.py)
from app.version import FIRMWARE_NAME, FIRMWARE_VERSION


def _identity(hal):
    return (FIRMWARE_NAME.encode(), hal.name.encode(), FIRMWARE_VERSION.encode())


def make_han(hal, role, record, registers, ext=None, network_key=None, out=print,
             view=None, market=None, metrology=None, price_store=None, gas_report_s=None,
             update=None):
    """The HAN node (han/node.py, a ZigBee PRO node) on the board's radio, or None when no
    role is asked. Its identity from the provisioning record: han_eui64 (or ext), for a
    device its han_install_code, for the coordinator han_network_key (or network_key; else
    it makes one). The network (keys, device table, frame counters) lives in the registers'
    store; tamper episodes reach the tamper log through a callback. The coordinator serves
    the meter to the HAN's displays (han/se/hub.py: Metering, Time, Messaging, the gas
    mirror) from the registers' view and the market's zone. gas_report_s: the gas meter's
    report interval in s (10 .. 86 400; None: 300). update: app/update.py's Updater (the
    gas meter role's images over the HAN become its next start's A/B trial)."""
    if role is None:
        return None
    if hal.radio is None:
        raise ValueError("board %s has no HAN radio (none fitted or it does not answer)"
                         % hal.name)
    if registers is None:
        raise ValueError("the HAN keeps its network in the registers' store: no file system")
    ext = ext or (record.han_eui64 if record else None)
    if ext is None:
        raise ValueError("the HAN needs a provisioned han_eui64 (python -m tools.provision) "
                         "or han_ext")
    code = record.han_install_code if record else None
    if role != "coordinator" and code is None:
        raise ValueError("a HAN device needs a provisioned han_install_code")
    import random

    from app.tasks import han_tamper_logger
    from han.node import HanNode

    keys = None
    se = None
    if role == "coordinator":
        from han.tc.keygen import KeyGenerator

        keys = KeyGenerator(hal.entropy, record.config_key if record else None)
        if view is not None and market is not None:
            se = make_hub(hal, registers, view, market, metrology, out, price_store)
            if record is not None and record.ota_key is not None:
                add_ota_server(se, hal, registers, record.ota_key, out)
    elif role == "gas":
        if record is None or record.p1_equipment_id is None:
            raise ValueError("a gas meter needs a provisioned p1_equipment_id (the "
                             "identifier P1 prints for it)")
        from han.se.gasmeter import REPORT_S, GasMeter

        # gas_report_s: the report interval (None: DSMR 5's 5 minutes; make run and the
        # tier-3 tests ask for 10 s so a run shows several reports).
        se = GasMeter(hal.clock, registers.store, record.p1_equipment_id,
                      report_s=gas_report_s or REPORT_S,
                      seed=(ext[6] << 8 | ext[7]) & 0x7FFF, identity=_identity(hal), out=out)
        if record.ota_key is not None:
            from app.version import OTA_IMAGE_GAS

            se.add_ota(ota_client(hal, registers, record, OTA_IMAGE_GAS, update, out))
    elif role == "display":
        from han.se.ihd import Display

        se = Display(hal.clock, identity=_identity(hal))
        if record is not None and record.ota_key is not None:
            from app.version import OTA_IMAGE_DISPLAY

            se.add_ota(ota_client(hal, registers, record, OTA_IMAGE_DISPLAY, update, out))
    # Backoffs and sequence numbers must differ between devices: seed from the address
    # (keys never come from this generator).
    random.seed((ext[4] << 24 | ext[5] << 16 | ext[6] << 8 | ext[7]) & 0x3FFFFFFF)
    return HanNode(hal.radio, hal.clock, role, ext, registers.store, random.getrandbits,
                   install_code=code,
                   network_key=network_key or (record.han_network_key if record else None),
                   out=out, on_tamper=han_tamper_logger(registers), keys=keys, se=se)


def ota_client(hal, registers, record, image_type, update, out):
    """A device role's OTA Upgrade client (han/ota/client.py) for our images of image_type,
    authenticated with the provisioned ota_key; an image it activates becomes the next
    start's A/B trial (app/update.py), and it reports the running image's version."""
    from app.version import OTA_MANUFACTURER, file_version
    from han.ota.client import OtaClient

    def activated(version, stage):
        out("han ota activated version 0x%08x (files in %s)" % (version, stage))
        if update is not None:
            update.adopt(stage, version)

    return OtaClient(registers.store, hal.clock, OTA_MANUFACTURER, image_type, record.ota_key,
                     update.running_version() if update is not None else file_version(),
                     on_activate=activated)


def price_config(prices):
    """han.se.price.PriceConfig of a stored price table (registers/prices.py), or None."""
    if prices is None:
        return None
    from han.se.price import PriceConfig

    return PriceConfig(prices.provider_id, prices.currency, prices.tiers, prices.unit)


def make_hub(hal, registers, view, market, metrology, out, price_store=None):
    """The hub's Smart Energy endpoints over the registers (han/se/hub.py); prices from
    the configuration path's stored table, if any."""
    from han.se.hub import Hub

    power = None
    if metrology is not None:
        from app.source import round_half_away

        total = metrology.total

        def power():  # rounded as P1's 1-0:1.7.0 is (app/source.py), never truncated
            return round_half_away(total.p_w)

    from registers.logs import EV_HAN_MESSAGE_CONFIRMED, STANDARD

    def confirmed(message_id, utc, src):
        # The entry's time is the meter's; the display's own time (utc, ZCL seconds since
        # 2000) is only printed: a display's clock is not evidence.
        src &= 0xFFFF
        registers.record_event(STANDARD, registers.clock.utc(), EV_HAN_MESSAGE_CONFIRMED,
                               message_id, src)
        out("han message %d confirmed by 0x%04x (its time %d)" % (message_id, src, utc))

    def gas(litres, capture_utc, equipment_id):
        try:
            return registers.gas.put(litres, capture_utc, equipment_id)
        except ValueError:  # not a reading (han/se/gasrelay.py checks what it can)
            return False

    def overwritten(ext, kind, item_id):
        # A full store-and-forward queue (seed 003 11.4) overwrote the device's oldest
        # item: the transaction log keeps it (a: the device, as han/diag.py names them).
        from han.diag import low32
        from registers.logs import EV_HAN_FORWARD_OVERWRITTEN, TRANSACTION

        registers.record_event(TRANSACTION, registers.clock.utc(),
                               EV_HAN_FORWARD_OVERWRITTEN, low32(ext), item_id)

    return Hub(registers.clock, view, market.std_offset_s, market.dst_rule, hal.clock,
               identity=_identity(hal), on_gas=gas, store=registers.store,
               prices=price_config(price_store.prices) if price_store is not None else None,
               power_w=power, on_confirmed=confirmed, on_overwritten=overwritten)


def make_hub_status(node, registers):
    """The HAN diagnostics (han/diag.py) on the coordinator's node, their transaction
    events into the meter's transaction log; returns the console's HUB STATUS answer,
    hub_status(write)."""
    from han.diag import HanDiag
    from registers.logs import TRANSACTION

    def transaction(utc, code, a, b):
        registers.record_event(TRANSACTION, utc, code, a, b)

    diag = HanDiag.attach(node, registers.store, transaction)

    def hub_status(write):
        diag.report(write, registers.logs.log(TRANSACTION))

    return hub_status


def add_ota_server(hub, hal, registers, ota_key, out):
    """The hub's OTA Upgrade server (han/ota/server.py) over the registers' file system:
    images stored there as "ota-*" files (put by make deploy / mpremote) of our
    manufacturer, authenticated with the provisioned ota_key; each is checked at power-up
    and one that fails is not offered and logged in the fault log (seed 003 10.4)."""
    from app.version import OTA_MANUFACTURER
    from han.ota.server import OtaServer
    from registers.logs import EV_HAN_IMAGE_CORRUPT, FAULT

    def key(manufacturer, image_type):
        return ota_key if manufacturer == OTA_MANUFACTURER else None

    def alert(verdict):
        registers.record_event(FAULT, registers.clock.utc(), EV_HAN_IMAGE_CORRUPT, verdict)
        out("han ota stored image refused (verdict %d)" % verdict)

    server = OtaServer(registers.store.fs, key, hal.clock, registers.clock.utc,
                       on_alert=alert)
    hub.add_ota(server)
    server.start()
    return server
