# The build shared by the static C helpers (each folder here): included by a
# helper's Makefile after it sets NAME, SOURCES (and HEADERS, if any).
#   make            one static binary, ../../bin/$(NAME); `make OUT=path` builds elsewhere
#   make lint       every source compiled (not linked) with LINT_WARNINGS too; writes nothing
#   make clean      removes $(OUT)
# C11, glibc's libc.a and no other library, -static-pie (see warden-exec/README.md).
CC ?= cc
OUT ?= ../../bin/$(NAME)
CFLAGS ?= -O2
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wvla
# `make lint` (run by the top-level `make lint` and tox's lint env) adds these:
# implicit narrowing and sign changes, casts dropping const or alignment,
# undeclared globals, and format/branch mistakes that only optimised
# compilation sees (so it compiles at -O2, to no output).
LINT_WARNINGS := -Wconversion -Wsign-conversion -Wcast-qual -Wcast-align=strict \
	-Wpointer-arith -Wwrite-strings -Wmissing-prototypes -Wmissing-declarations \
	-Wold-style-definition -Wredundant-decls -Wnested-externs -Wundef \
	-Wnull-dereference -Wdouble-promotion -Wbad-function-cast -Walloca \
	-Wimplicit-fallthrough -Wformat-overflow=2 -Wformat-signedness \
	-Wlogical-op -Wduplicated-cond -Wduplicated-branches -Wjump-misses-init
HARDENING := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDFLAGS ?= -s -static-pie -Wl,-z,relro,-z,now
COMPILE = $(CC) -std=c11 -D_GNU_SOURCE $(WARNINGS)

.PHONY: all clean lint
all: $(OUT)

# Rebuilt when a source, a header or a makefile (this one included) changes.
$(OUT): $(SOURCES) $(HEADERS) $(MAKEFILE_LIST)
	@mkdir -p $(dir $(OUT))
	$(COMPILE) $(HARDENING) $(CFLAGS) -o $@.tmp $(SOURCES) $(LDFLAGS)
	mv -f $@.tmp $@

lint:
	@for source in $(SOURCES); do \
	  $(COMPILE) $(LINT_WARNINGS) $(HARDENING) -O2 -c $$source -o /dev/null || exit 1; \
	done
	@echo "$(NAME): no compiler warnings ($(SOURCES))"

clean:
	rm -f $(OUT)
