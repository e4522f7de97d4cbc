# The SDK worker image for cluster runs (Dataflow custom container, Flink / Spark with --environment_type=DOCKER):
# Beam's Python SDK image at the pipeline's Beam version, CUDA torch, this project, and optionally a model cache.
#
#   docker build -f docker/worker.Dockerfile -t REGION-docker.pkg.dev/PROJECT/videogcg/worker:latest .
#   docker build -f docker/worker.Dockerfile --build-arg MODEL_CACHE=models/ -t ... .   # bake checkpoints in
#
# MODEL_CACHE is a folder in the build context laid out as a Hugging Face cache (HF_HOME), e.g. filled with
# `HF_HOME=models huggingface-cli download facebook/sam2.1-hiera-tiny ...`; workers then load with no download.
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}

# CUDA build of the same torch as the CPU one pinned in constraints.txt (the driver comes from the host:
# Dataflow's worker_accelerator=...;install-nvidia-driver, or the NVIDIA container toolkit elsewhere).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX}

WORKDIR /opt/videogcg
COPY pyproject.toml constraints.txt README.md ./
COPY videogcg ./videogcg
COPY configs ./configs
# constraints.txt keeps pip from replacing the CUDA torch; torchvision is never installed.
RUN pip install --no-cache-dir . -c constraints.txt && ! pip show torchvision >/dev/null 2>&1

ARG MODEL_CACHE=docker/empty-model-cache
ENV HF_HOME=/opt/models VIDEOGCG_CACHE=/opt/models/videogcg
COPY ${MODEL_CACHE} /opt/models

# The Beam SDK harness stays the entrypoint (from the base image).
