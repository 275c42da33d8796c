# tests/soak/soak.mk - `make soak`: the kill -9 soak of issue 6
# (tests/soak/soak.sh): random operations against a few tiny VMs, hangard
# SIGKILLed at a random moment and restarted, every invariant checked after
# each restart.  Include it from the Makefile (after BUILD is set):
#   include tests/soak/soak.mk
#   make soak                       200 cycles on a libvirt host of its own
#   make soak SOAK_CYCLES=20 SOAK_SEED=1234
#   make soak SANITIZE=1            the same under ASan + UBSan
# `make check` runs a short version (tests/integration/soak_short.sh).
SOAK_CYCLES ?= 200

.PHONY: soak
soak:
	@scripts/deps check
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) SOAK_CYCLES=$(SOAK_CYCLES) \
	    $(if $(SOAK_SEED),SOAK_SEED=$(SOAK_SEED)) tests/soak/soak.sh
