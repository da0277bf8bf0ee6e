# s2dc build, test and demo targets. Each target installs what it needs on a fresh Debian machine.

SHELL := /bin/bash
# apt-get runs through sudo unless we are root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libprotobuf-c-dev protobuf-c-compiler libopenblas-dev pkg-config zlib1g-dev python3 python3-venv \
	dataset-fashion-mnist
VENV := .venv
PYTHON := $(VENV)/bin/python
# The benchmark's own venv: the test venv's packages plus torch, the training section's peer.
BENCH_VENV := .venv-bench
BENCH_PYTHON := $(BENCH_VENV)/bin/python
NODE_TESTS := .cache/onnx-node-tests
DEMO_MODEL := models/default.onnx
# The untrained ResNet-8 (seeded random weights) that `make default-model` trains into DEMO_MODEL.
INIT_MODEL := .cache/resnet8-init.onnx
# The exact training run that made models/default.onnx (about 35 minutes on 2 cores).
TRAIN_FLAGS := --data fashion-mnist --epochs 10 --lr 0.1 --schedule cosine --warmup-epochs 1 \
	--label-smoothing 0.1 --crop-padding 2 --weight-decay 5e-4 --seed 1 --threads 2

.PHONY: all build deps venv bench-venv node-tests test fuzz fuzz-smoke demo bench default-model torch-models regenerate-proto clean

all: build

# Installs only the Debian packages that are missing (apt-get update once, when needed).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v swift >/dev/null || { echo "error: swift is not on PATH; install the Swift toolchain (swift.org) first" >&2; exit 1; }

# Python venv with onnx and onnxruntime, for reference checks and for generating test data.
venv: $(VENV)/.installed
$(VENV)/.installed: scripts/requirements.txt | deps
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r scripts/requirements.txt
	touch $@

# The ONNX backend node tests, generated from the pinned onnx package.
node-tests: $(NODE_TESTS)/.generated
$(NODE_TESTS)/.generated: scripts/generate-node-tests.py $(VENV)/.installed
	rm -rf $(NODE_TESTS)
	$(PYTHON) scripts/generate-node-tests.py $(NODE_TESTS)
	touch $@

build: deps
	swift build -c release

test: deps venv node-tests
	PYTHON=$(abspath $(PYTHON)) S2DC_NODE_TESTS=$(abspath $(NODE_TESTS)) swift test
	$(MAKE) fuzz-smoke

# The fuzz targets (Tests/Fuzz, libFuzzer): `make fuzz` runs each for FUZZ_SECONDS, growing its
# corpus in .cache/fuzz; `make test` runs each for FUZZ_RUNS executions from the seeds. A crash is
# saved into Tests/FuzzTests/Fixtures as a regression input (scripts/fuzz.sh).
FUZZ_SECONDS ?= 300
FUZZ_RUNS ?= 3000
fuzz: deps venv
	PYTHON=$(abspath $(PYTHON)) scripts/fuzz.sh --seconds $(FUZZ_SECONDS)

fuzz-smoke: deps venv
	PYTHON=$(abspath $(PYTHON)) scripts/fuzz.sh --runs $(FUZZ_RUNS)

# The main job on the default model with a small Fashion-MNIST subset (2000 training images, one
# supernet epoch, 32 search evaluations, 4 epochs of the chosen configuration alone, 2000 test
# images): about 8 minutes on 2 cores. The report, plots and code stay in DEMO_OUT.
DEMO_OUT := demo-out
DEMO_FLAGS := --data fashion-mnist --budget 0.2 --epochs 1 --finetune-epochs 4 --train-images 2000 \
	--validation-size 500 --calibration-images 500 --evaluations 32 --test-images 2000
demo: build
	rm -rf $(DEMO_OUT)
	.build/release/s2dc convert $(DEMO_MODEL) $(DEMO_FLAGS) -o $(DEMO_OUT)
	@echo "report, plots and code: $(DEMO_OUT)/report.json, $(DEMO_OUT)/pareto.svg, $(DEMO_OUT)/exits.svg, $(DEMO_OUT)/summary.txt, $(DEMO_OUT)/code/model.c"

# Remakes the built-in default model: the ResNet-8 of scripts/make-default-model.py trained on
# Fashion-MNIST by s2dc itself (the model is committed; this target is how it was made).
default-model: build venv
	$(PYTHON) scripts/make-default-model.py $(INIT_MODEL)
	.build/release/s2dc train $(INIT_MODEL) $(TRAIN_FLAGS) -o $(DEMO_MODEL)

# The PyTorch-trained models convert is measured on besides the default one (README, "Models
# trained by PyTorch"): the bench ResNet-20 trained in its own ONNX layout by the PyTorch peer's
# script (so the peer can import it), and the MobileNetV2-style network trained and exported by
# torch.onnx.export. Neither validation split (seed 0, 5000 images, as convert's) is trained on.
# The ResNet-20 is committed (1.1 MB); this target is how it was made (25-45 minutes each on 2 cores).
torch-models: bench-venv
	$(BENCH_PYTHON) scripts/bench-peer-uniform.py --pretrain-epochs 10 --epochs 0 --threads 2 --seed 0 \
		--validation-fraction 0.08333333333333333 --save-pretrained models/resnet20-fashion.onnx
	$(BENCH_PYTHON) scripts/train-torch-model.py mobilenetv2 --epochs 10 --seed 0 -o models/mobilenetv2-fashion.onnx

# torch goes into the bench venv only, so the tests never need it.
bench-venv: $(BENCH_VENV)/.installed
$(BENCH_VENV)/.installed: scripts/bench-requirements.txt scripts/requirements.txt | deps
	python3 -m venv $(BENCH_VENV)
	$(BENCH_PYTHON) -m pip install -q --upgrade pip
	$(BENCH_PYTHON) -m pip install -q -r scripts/bench-requirements.txt
	touch $@

bench: build bench-venv
	$(BENCH_PYTHON) scripts/bench.py --s2dc .build/release/s2dc

regenerate-proto: deps venv
	PYTHON=$(abspath $(PYTHON)) scripts/regenerate-onnx-proto.sh

clean:
	rm -rf .build .cache $(BENCH_VENV)
