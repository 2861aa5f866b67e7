# Meter firmware: build, run and test.
#   make run    build what is missing, run the meter on the emulated board (QEMU MPS2-AN385)
#   make test   all three test tiers (CPython, MicroPython unix port, emulated board)
#   make bench  deterministic instruction counts on the emulated board
#   make deploy PORT=/dev/ttyUSB0 BOARD=esp32c6   put the firmware on a real board
# Every target bootstraps what it needs first (tools/bootstrap.sh) and is idempotent.

SHELL := /bin/bash
BUILD := build
ABS_BUILD := $(abspath $(BUILD))
MPY_SRC := $(BUILD)/micropython-src
PY := .venv/bin/python
STEP := tools/step.sh
J := -j$(shell nproc)

MPY_CROSS := $(MPY_SRC)/mpy-cross/build/mpy-cross
MICROPYTHON := $(BUILD)/micropython
EMU_FW := $(BUILD)/emu-mps2/firmware.elf

# Native modules (firmware/native/<name>/) and the architectures built here.
# xtensawin (classic ESP32) needs Espressif's toolchain, which no registry we use carries:
# `make natmod-xtensawin` is kept for machines that have xtensa-esp32-elf-gcc on PATH.
NATMODS := _crc16 _metro _aes
# rv32imc (ESP32-C3/C6/H2) uses Debian's gcc-riscv64-unknown-elf with picolibc.
NATMOD_ARCHS := x64 armv7m rv32imc
NATMOD_FILES := $(foreach a,$(NATMOD_ARCHS),$(foreach m,$(NATMODS),$(BUILD)/natmod/$(a)/$(m).mpy))

FIRMWARE_PY := $(shell find firmware -name '*.py' 2>/dev/null)
EMU_BOARD_FILES := $(shell find boards/emu-mps2 -type f 2>/dev/null)

# The unix port without the parts that need libraries or submodules we do not ship.
UNIX_OPTS := MICROPY_PY_FFI=0 MICROPY_SSL_MBEDTLS=0 MICROPY_SSL_AXTLS=0 MICROPY_PY_SSL=0 \
	MICROPY_PY_BTREE=0 MICROPY_USE_READLINE=0

.PHONY: all bootstrap zoh build test test-cpython test-micropython test-emu run bench soak deploy \
	natmods clean distclean natmod-xtensawin

all: build

bootstrap:
	@tools/bootstrap.sh

# zigbee-on-host and zigbee-herdsman (npm) for tests/host/test_han_zoh.py and
# test_han_zcl_herdsman.py; `make bootstrap` runs it too when
# Node.js >= 20.19 is there.
zoh:
	@tools/bootstrap.sh zoh

build: $(MPY_CROSS) $(MICROPYTHON) $(EMU_FW) $(NATMOD_FILES)

$(MPY_SRC)/.unpacked: | bootstrap

$(MPY_CROSS): $(MPY_SRC)/.unpacked | bootstrap
	@$(STEP) "mpy-cross" $(MAKE) $(J) -C $(MPY_SRC)/mpy-cross

$(MICROPYTHON): $(MPY_CROSS) boards/sim/manifest.py | bootstrap
	@$(STEP) "MicroPython unix port" $(MAKE) $(J) -C $(MPY_SRC)/ports/unix \
		BUILD=$(ABS_BUILD)/unix FROZEN_MANIFEST=$(abspath boards/sim/manifest.py) $(UNIX_OPTS)
	@cp $(BUILD)/unix/micropython $@

# A change of the board's build configuration invalidates every object: start afresh.
EMU_CONFIG := boards/emu-mps2/mpconfigboard.mk boards/emu-mps2/mpconfigboard_emu.h
$(BUILD)/emu-mps2.config: $(EMU_CONFIG)
	@rm -rf $(BUILD)/emu-mps2 && mkdir -p $(BUILD) && cat $^ > $@

$(EMU_FW): $(MPY_CROSS) $(FIRMWARE_PY) $(EMU_BOARD_FILES) $(BUILD)/emu-mps2.config | bootstrap
	@$(STEP) "emulated board firmware (qemu port, MPS2-AN385)" $(MAKE) $(J) \
		-C $(MPY_SRC)/ports/qemu BOARD=EMU_MPS2 BOARD_DIR=$(abspath boards/emu-mps2) \
		BUILD=$(ABS_BUILD)/emu-mps2

# A native module: sources copied next to their objects, linked by MicroPython's dynruntime.mk.
define natmod_rule
$(BUILD)/natmod/$(1)/$(2).mpy: $(MPY_CROSS) $(wildcard firmware/native/$(2)/*) | bootstrap
	@rm -rf $(BUILD)/natmod-work/$(1)/$(2) && mkdir -p $(BUILD)/natmod-work/$(1)/$(2) $$(@D)
	@cp firmware/native/$(2)/* $(BUILD)/natmod-work/$(1)/$(2)/
	@$(STEP) "natmod $(2) for $(1)" env PATH=$(abspath .venv/bin):$$$$PATH \
		$(MAKE) -C $(BUILD)/natmod-work/$(1)/$(2) ARCH=$(1) MPY_DIR=$(abspath $(MPY_SRC))
	@cp $(BUILD)/natmod-work/$(1)/$(2)/$(2).mpy $$@
endef
$(foreach a,$(NATMOD_ARCHS) xtensawin,$(foreach m,$(NATMODS),$(eval $(call natmod_rule,$(a),$(m)))))

natmods: $(NATMOD_FILES)

natmod-xtensawin: $(foreach m,$(NATMODS),$(BUILD)/natmod/xtensawin/$(m).mpy)

test: build
	@$(PY) -m tools.test

test-cpython test-micropython test-emu: build
	@$(PY) -m tools.test $(@:test-%=%)

run: build
	@$(PY) -m tools.emu run $(RUN_ARGS)

bench: build
	@$(PY) -m tools.bench $(BENCH_ARGS)
	@echo "[bench] power-cut campaign: 10 000 cuts over real littlefs on the unix port (about 7 min) ..."
	@$(PY) -m tools.powercut --cuts 10000 --seed 1 --runtime micropython --json

# Long campaigns (make test runs a short deterministic slice of each).
soak: build
	@echo "[soak] metrology type tests, an hour of no-load on each front end (about 3 min) ..."
	@TYPETEST_NOLOAD_S=3600 $(PY) -m pytest -q -p no:cacheprovider tests/host/test_metrology_typetest.py
	@echo "[soak] ZigBee NWK/APS/ZDO fuzz: 100 000 frames (about 4 min) ..."
	@HAN_FUZZ_FRAMES=100000 $(PY) -m pytest -q -p no:cacheprovider tests/host/test_han_zb_fuzz.py
	@echo "[soak] Smart Energy ZCL fuzz against the hub and a display: 50 000 frames (about 1 min) ..."
	@HAN_SE_FUZZ_FRAMES=50000 $(PY) -m pytest -q -p no:cacheprovider tests/host/test_han_se_fuzz.py
	@echo "[soak] HAN power-cut campaign: 3 000 cuts on each runtime (about 8 min) ..."
	@$(PY) -m tools.powercut_han --cuts 3000 --seed 1 --runtime micropython --json
	@$(PY) -m tools.powercut_han --cuts 3000 --seed 1 --runtime cpython --json
	@echo "[soak] Smart Energy HAN, a simulated day: hub, gas meter, 3 displays, P1, tracemalloc (about 4 min) ..."
	@$(PY) -m tools.han se-day --hours 24 --displays 3 --tracemalloc
	@echo "[soak] OTA power-cut campaign: 1 000 cuts of the gas meter and the hub (about 2 min) ..."
	@$(PY) -m tools.powercut_ota --cuts 1000 --seed 7
	@echo "[soak] store-and-forward power-cut campaign: 2 000 cuts on the unix port (about 80 s) ..."
	@$(PY) -m tools.powercut_forward --cuts 2000 --seed 1 --runtime micropython
	@echo "[soak] strict P1 reader fuzz: 100 000 mutated telegrams (about 2 min) ..."
	@P1_FUZZ_N=100000 P1_FUZZ_SEED=7 $(PY) -m pytest -q -p no:cacheprovider tests/host/test_p1_reader_strict.py -k fuzz

deploy: build
	@$(PY) -m tools.deploy --board $(or $(BOARD),esp32c6) --port $(or $(PORT),/dev/ttyUSB0) $(DEPLOY_ARGS)

clean:
	rm -rf $(BUILD)/unix $(BUILD)/emu-mps2 $(BUILD)/natmod $(BUILD)/natmod-work $(MICROPYTHON) $(BUILD)/logs

distclean:
	rm -rf $(BUILD) .venv
