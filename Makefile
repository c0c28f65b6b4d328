# tamas: thin wrapper over CMake. `make run`, `make test`, `make bench` install deps first.
BUILD ?= build
TESTBUILD ?= build-test
DEB_PKGS = build-essential cmake pkg-config libre-dev liblua5.4-dev libsqlite3-dev \
	libcmocka-dev sip-tester baresip-core python3-pytest sox sqlite3 \
	libspandsp-dev libsndfile1-dev libspeexdsp-dev espeak-ng \
	asterisk-core-sounds-en-wav asterisk-moh-opsound-wav \
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libcrypt-dev openssl

.PHONY: all deps run test bench clean unit system

all: $(BUILD)/tamasd

$(BUILD)/tamasd: FORCE
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j2

FORCE:

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

run: deps all
	mkdir -p var
	$(BUILD)/tamasd -c etc/tamas.conf

# The release build too: `make run` uses it, and the optimiser finds
# warnings (-Werror) the debug build does not.
test: deps all
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DTAMAS_SANITIZE=ON >/dev/null
	cmake --build $(TESTBUILD) -j2
	cd $(TESTBUILD) && ctest --output-on-failure
	@# System tests share one 2-core box with SIPp: a failed test is run once
	@# more (and only it) so that a scheduling hiccup is told from a bug.
	TAMAS_BUILD=$(CURDIR)/$(TESTBUILD) /usr/bin/python3 -m pytest -v tests/system || \
	  { echo "make test: re-running the failed system tests once"; \
	    TAMAS_BUILD=$(CURDIR)/$(TESTBUILD) /usr/bin/python3 -m pytest -v --lf \
	      --lfnf=none tests/system; }

bench: deps all
	bash bench/run.sh

clean:
	rm -rf $(BUILD) $(TESTBUILD)
