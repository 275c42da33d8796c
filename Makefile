# hangar - build, run and test.
#   make          build build/hangard and build/hangar (and build/man/,
#                 build/completion/)
#   make install  install them under $(PREFIX) (/usr/local), $(DESTDIR)
#   make run      install what is missing, start libvirt if needed, run hangard
#   make check    install what is missing, build, run every test
#   make check SANITIZE=1   the same under ASan + UBSan

CC      ?= cc
PKGS     = libmicrohttpd jansson libvirt libvirt-qemu sqlite3 uuid libxml-2.0 \
           libsystemd gnutls libisofs-1
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wformat=2 \
           -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=address,undefined
BUILD   ?= build-san
endif
BUILD   ?= build

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

COMMON_SRC    = $(wildcard src/common/*.c)
STORE_SRC     = $(wildcard src/store/*.c)
SCHED_SRC     = $(wildcard src/scheduler/*.c)
BACKEND_SRC   = $(wildcard src/backends/*.c)
API_SRC       = $(wildcard src/api/*.c)
DAEMON_SRC    = $(wildcard src/daemon/*.c)
LIB_SRC       = $(COMMON_SRC) $(STORE_SRC) $(SCHED_SRC) $(BACKEND_SRC) \
                $(API_SRC) $(DAEMON_SRC)
LIB_OBJ       = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC       = $(wildcard clients/*.c)
CLI_OBJ       = $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC      = $(wildcard tests/unit/test_*.c)
UNIT_BIN      = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run check unit integration clean install bench bench-place \
        bench-plan bench-migrate
all: $(BUILD)/hangard $(BUILD)/hangar

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libhangar.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# src/hangard.c, the entry, is the one file above every module (not in
# the archive: it holds main())
$(BUILD)/hangard: $(BUILD)/obj/src/hangard.o $(BUILD)/libhangar.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/hangar: $(CLI_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libcurl jansson)

# -MMD: a test that #includes sources (test_cli_output) rebuilds with them
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -MMD -MP -MF $@.d -o $@ \
	    $< $(BUILD)/libhangar.a $(PKG_LIBS) -lcmocka

# hangar(1) comes from the command table (`hangar manual`), as do the
# completion scripts; hangard(8) is written by hand (docs/man/)
MAN_PAGES  = $(BUILD)/man/hangar.1 $(BUILD)/man/hangard.8
COMPLETION = $(BUILD)/completion/hangar.bash $(BUILD)/completion/_hangar
all: $(MAN_PAGES) $(COMPLETION)

$(BUILD)/man/hangar.1: $(BUILD)/hangar
	@mkdir -p $(dir $@)
	$(BUILD)/hangar manual >$@.tmp && mv $@.tmp $@

$(BUILD)/man/hangard.8: docs/man/hangard.8
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/completion/hangar.bash: $(BUILD)/hangar
	@mkdir -p $(dir $@)
	$(BUILD)/hangar completion bash >$@.tmp && mv $@.tmp $@

$(BUILD)/completion/_hangar: $(BUILD)/hangar
	@mkdir -p $(dir $@)
	$(BUILD)/hangar completion zsh >$@.tmp && mv $@.tmp $@

# make install [PREFIX=/usr/local] [DESTDIR=...]: the programs, their
# manual pages and the completion scripts (systemd/hangard.service runs
# $(PREFIX)/sbin/hangard)
PREFIX ?= /usr/local
install: all
	install -D -m 755 $(BUILD)/hangard $(DESTDIR)$(PREFIX)/sbin/hangard
	install -D -m 755 $(BUILD)/hangar $(DESTDIR)$(PREFIX)/bin/hangar
	install -D -m 644 $(BUILD)/man/hangar.1 \
	    $(DESTDIR)$(PREFIX)/share/man/man1/hangar.1
	install -D -m 644 $(BUILD)/man/hangard.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/hangard.8
	install -D -m 644 $(BUILD)/completion/hangar.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hangar
	install -D -m 644 $(BUILD)/completion/_hangar \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_hangar

deps:
	@scripts/deps build

run:
	@scripts/deps run
	@$(MAKE) --no-print-directory all
	@scripts/start-libvirt
	$(BUILD)/hangard --config config/hangard.conf

unit: $(UNIT_BIN)
check:
	@scripts/deps check
	@$(MAKE) --no-print-directory all unit
	@[ "$(SANITIZE)" = 1 ] || $(MAKE) --no-print-directory fuzz-smoke
	@BUILD=$(BUILD) tests/run

$(BUILD)/bench/place_bench: bench/place_bench.c $(BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/plan_bench: bench/plan_bench.c $(BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/p4_raw: bench/p4_raw.c $(BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/p5_fill: bench/p5_fill.c $(BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/m1_writer: bench/m1_writer.c $(BUILD)/libhangar.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/httpload: bench/httpload.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# benchmarks print tables; they never fail on speed
.PHONY: bench-tools
bench-place: $(BUILD)/bench/place_bench
	@$(BUILD)/bench/place_bench
bench-plan: $(BUILD)/bench/plan_bench
	@$(BUILD)/bench/plan_bench
# live migration through the API against virsh migrate (two libvirt hosts)
bench-migrate: all
	@scripts/deps check
	@BUILD=$(BUILD) bench/migrate_bench.sh
bench-tools: all $(BUILD)/bench/place_bench $(BUILD)/bench/p4_raw \
        $(BUILD)/bench/p5_fill $(BUILD)/bench/httpload \
        $(BUILD)/bench/m1_writer
# issue 7: hangar side by side with virsh, nginx and LXD, one table
# (bench/run.sh; `make bench BENCH_ROWS="P2 P4"` runs only those rows)
bench:
	@scripts/deps bench
	@$(MAKE) --no-print-directory bench-tools
	@BUILD=$(BUILD) bash bench/run.sh $(BENCH_ROWS)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
include tests/soak/soak.mk
# libFuzzer targets (tests/fuzz/): make fuzz [FUZZ_TIME=60], make fuzz-smoke
include tests/fuzz/fuzz.mk
