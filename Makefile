# Makefile - builds libmtrank.a, the mtrank CLI, the test suite (plain and under ASan+UBSan) and the
# benchmark. Sources are found by wildcard: a new .c file in src/<area>/ joins the library.
#   make            library and CLI (build/mtrank)
#   make test       test suite, then again under AddressSanitizer + UBSan; ends "N passed, N failed"
#   make demo       install missing build dependencies (as root), build, run the census experiment
#   make bench      training and inference throughput (not a test)

CC      ?= gcc
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
OPT     ?= -O2 -march=native
CFLAGS  ?=
CFLAGS  += $(CSTD) $(WARN) -fopenmp -Iinclude -Isrc -MMD -MP
# OpenBLAS, pthread build pinned to one thread (src/ops/gemm.c says why), linked by path so that
# whichever variant the alternatives system prefers is not picked by accident.
BLAS_DIR ?= /usr/lib/x86_64-linux-gnu/openblas-pthread
LDLIBS  := -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas -ljansson -lz -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(wildcard src/util/*.c src/data/*.c src/ops/*.c src/models/*.c src/train/*.c \
                       src/eval/*.c src/io/*.c src/gen/*.c src/report/*.c src/rank/*.c src/serve/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/*.c)
BENCH_SRC := $(wildcard bench/*.c)

# build/rel: optimised; build/san: sanitizers, for the second test pass
REL_OBJ  := $(LIB_SRC:%.c=build/rel/%.o)
SAN_OBJ  := $(LIB_SRC:%.c=build/san/%.o)

.PHONY: all test test-plain test-san demo bench deps clean
all: build/mtrank

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OPT) -c $< -o $@

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -g $(SAN) -c $< -o $@

build/rel/libmtrank.a: $(REL_OBJ)
	ar rcs $@ $^

build/san/libmtrank.a: $(SAN_OBJ)
	ar rcs $@ $^

build/mtrank: $(CLI_SRC:%.c=build/rel/%.o) build/rel/libmtrank.a
	$(CC) $(CFLAGS) $(OPT) $^ -o $@ $(LDLIBS)

build/san/mtrank: $(CLI_SRC:%.c=build/san/%.o) build/san/libmtrank.a
	$(CC) $(CFLAGS) -O1 -g $(SAN) $^ -o $@ $(LDLIBS)

build/rel/test_mtrank: $(TEST_SRC:%.c=build/rel/%.o) build/rel/libmtrank.a
	$(CC) $(CFLAGS) $(OPT) $^ -o $@ $(LDLIBS)

build/san/test_mtrank: $(TEST_SRC:%.c=build/san/%.o) build/san/libmtrank.a
	$(CC) $(CFLAGS) -O1 -g $(SAN) $^ -o $@ $(LDLIBS)

build/rel/bench_mtrank: $(BENCH_SRC:%.c=build/rel/%.o) build/rel/libmtrank.a
	$(CC) $(CFLAGS) $(OPT) $^ -o $@ $(LDLIBS)

# Tests run from the repository root so they find data/; the CLI tests use MTR_CLI.
test-plain: build/rel/test_mtrank build/mtrank
	MTR_CLI=build/mtrank OMP_NUM_THREADS=1 ./build/rel/test_mtrank $(T)

test-san: build/san/test_mtrank build/san/mtrank
	MTR_CLI=build/san/mtrank OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ./build/san/test_mtrank $(T)

test: test-plain
	@$(MAKE) --no-print-directory test-san

deps:
	@bash scripts/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	./build/mtrank experiment census --group 1 --runs 2

bench: build/rel/bench_mtrank build/mtrank
	OMP_NUM_THREADS=1 ./build/rel/bench_mtrank

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(CLI_SRC:%.c=build/rel/%.d) $(CLI_SRC:%.c=build/san/%.d) \
         $(TEST_SRC:%.c=build/rel/%.d) $(TEST_SRC:%.c=build/san/%.d) $(BENCH_SRC:%.c=build/rel/%.d)
