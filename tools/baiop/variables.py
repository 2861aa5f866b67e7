"""Robot variable file of the H1 suites: per profile, what the cases need to know that is
no BAP statement's list (those the cases read from docs/bap themselves): the period, the
identification, the M-Bus lines that appear only after a gas reading, the energy registers
and the tolerances of the timing cases, and the emulated board's provisioned identity and
keys (boards/emu-mps2/device.json) for the security cases."""
import json
import os

from tools.baiop.han_bench import GAS_REPORT_S

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_MBUS = ["0-1:24.1.0", "0-1:96.1.0", "0-1:24.2.1"]  # DSMR 5.0.2 6.12
# e-MUCS H 1.7.1; the valve 0-1:24.4.0 only with a reported position (H1-INF-020).
_BE_MBUS = ["0-1:24.1.0", "0-1:96.1.1", "0-1:24.2.3"]
_TARIFFS = ["1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2"]
_TOTALS = ["1-0:1.8.0", "1-0:2.8.0"]

PROFILES = {  # period s (DSMR 5.0.2 6.1; DSMR 4.2.2 4.5; Smarty 3.2.1; SE H1 3.2)
    "nl": (1, _MBUS, _TARIFFS),
    "nl4": (10, _MBUS, _TARIFFS),
    "be": (1, _BE_MBUS, _TARIFFS),
    "lu": (10, _MBUS, _TOTALS),
    "se": (10, [], _TOTALS),
    "lt": (1, [], ["1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.0"]),
}


def get_variables(profile="nl", capture_periods=8, replay=False, key=""):
    period, mbus, energy = PROFILES[profile]
    with open(os.path.join(ROOT, "boards", "emu-mps2", "device.json")) as f:
        device = json.load(f)
    keys = [device.get(k, "") for k in ("config_key", "han_network_key", "han_install_code",
                                         "p1_key", "ota_key")] + [key]
    return {
        "PROFILE": profile,
        "PERIOD": period,
        "TOLERANCE": period * 0.1,  # of the mean period
        "JITTER": 0.1 if period == 1 else 0.2,  # docs/bap/h1.md H1-COM-010 (+-100 ms)
        "CAPTURE_S": period * int(capture_periods) + 0.5,
        # A replayed capture holds what it holds: at least one telegram.
        "MIN_TELEGRAMS": 1 if str(replay) == "True" else int(capture_periods) - 2,
        "IDENTIFICATION": "MPY5\\2H1-" + profile.upper(),
        "MBUS": mbus,
        "ENERGY": energy,
        "LINE_MAX": 2100,  # 0-0:96.13.0: 1024 octets as 2048 hex digits (5.0.2 6.12)
        "ENCRYPTED": profile == "lu",
        "SYSTEM_TITLE": device.get("system_title", ""),
        "KEYS": [k for k in keys if k],
        # HAN cases: the key the console must never show, a price table and a message
        # set through the configuration path.
        "HAN_NETWORK_KEY": device.get("han_network_key", ""),
        "PRICES": os.path.join(ROOT, "tools", "baiop", "lab_prices.json"),
        "MESSAGE": "BAIOP lab message 7",
        "GAS_REPORT_S": GAS_REPORT_S,
    }
