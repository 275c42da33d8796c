# tests/fuzz/fuzz.mk - the libFuzzer targets (tests/fuzz/fuzz_*.c), built
# with clang -fsanitize=fuzzer,address,undefined into $(FUZZ_BUILD).
#
# Standalone:   make -f tests/fuzz/fuzz.mk [fuzz-build]   (from the root)
# Included by the Makefile (`include tests/fuzz/fuzz.mk`):
#   make fuzz-build          build every build-fuzz/fuzz_* binary
#   make fuzz                run each for FUZZ_TIME seconds (default 60)
#   make fuzz-smoke          run each for FUZZ_SMOKE_TIME seconds (5)
#   make fuzz-clean          remove build-fuzz/
# Running is tests/fuzz/run's job (corpora, crash reports, the count).
#
# Every src/*/*.c (so not src/hangard.c, the program's entry) is
# compiled once with coverage instrumentation (fuzzer-no-link) and the
# sanitizers into $(FUZZ_BUILD)/libhangar.a; a target links what it
# needs from it.  A target may #include a src/*.c file to reach its
# static validators; the archive's copy of that file is then never
# pulled in.  Nothing here
# touches the Makefile's own variables or build directories.

FUZZ_CC         ?= clang
FUZZ_BUILD      ?= build-fuzz
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 5

# The same packages and warnings as the Makefile: its variables when it
# includes this file; standalone, its PKGS and WARN lines read from it (so
# a library added there is linked here too), or these if it has none.
FUZZ_MKVAR = $(shell sed -n '/^$(1) *=/{:a;/\\$$/{N;ba;};s/\\\n/ /g;s/^$(1) *= *//;p;}' Makefile 2>/dev/null)
PKGS ?= $(or $(call FUZZ_MKVAR,PKGS),libmicrohttpd jansson libvirt sqlite3 \
        uuid libxml-2.0 libsystemd)
WARN ?= $(or $(call FUZZ_MKVAR,WARN),-Wall -Wextra -Werror -Wshadow \
        -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
        -Wcast-qual -Wformat=2 -Wno-format-nonliteral)

FUZZ_PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=gnu11 -D_GNU_SOURCE -pthread -g -O1 $(FUZZ_SAN)
# src/ is held to -Werror by gcc in the normal build; clang warns about a
# few more things (missing field initializers), which must not stop fuzzing
FUZZ_SRC_WARN = $(filter-out -Werror,$(WARN)) -Wno-missing-field-initializers

FUZZ_SRC     = $(wildcard src/*/*.c)
FUZZ_OBJ     = $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz-build fuzz fuzz-smoke fuzz-clean fuzz-vars
fuzz-build: $(FUZZ_BIN)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SRC_WARN) -fsanitize=fuzzer-no-link \
	    $(FUZZ_PKG_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libhangar.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -fsanitize=fuzzer $(FUZZ_PKG_CFLAGS) \
	    -Isrc -Itests/fuzz -MMD -MP -MF $@.d -o $@ $< \
	    $(FUZZ_BUILD)/libhangar.a $(FUZZ_PKG_LIBS)

# '+': tests/fuzz/run runs make itself (to build) and may share the jobs
fuzz:
	+@MAKE="$(MAKE)" FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run $(FUZZ_TIME)
fuzz-smoke:
	+@MAKE="$(MAKE)" FUZZ_BUILD=$(FUZZ_BUILD) \
	    FUZZ_SMOKE_TIME=$(FUZZ_SMOKE_TIME) tests/fuzz/run --smoke

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

# `make -f tests/fuzz/fuzz.mk fuzz-vars`: what it found in the Makefile
fuzz-vars:
	@echo "PKGS = $(PKGS)"
	@echo "WARN = $(WARN)"

-include $(wildcard $(FUZZ_BUILD)/obj/src/*/*.d $(FUZZ_BUILD)/*.d)
