#!/usr/bin/env bash
# Validates nanolm's fits against published studies (numbers in ../shared/reference, not in the repository):
# Epoch's 240 Chinchilla points → E, A, B, α, β; Gadre et al.'s five small runs per training set → the
# over-training law's predictions for their 7B (M = 20) and 1.4B (over-trained) runs, with the error.
#   scripts/validate_fits.sh [REFERENCE_DIR]     (default ../shared/reference)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_python
ref=${1:-../shared/reference}
[ -d "$ref/subsets" ] || { echo "error: $ref/subsets not found: pass the reference directory" >&2; exit 1; }
swift build -c release 2>&1 | grep -E "error" || true
NANOLM="$(swift build -c release --show-bin-path)/nanolm"
echo "== Chinchilla (Epoch: E 1.8172, A 477.8, B 2143.9, alpha 0.34731, beta 0.36718)"
"$NANOLM" fit --law chinchilla --input "$ref/subsets/chinchilla_240.csv" | tail -1
for set in rpj c4_original rw_original; do
  echo "== over-training, $set (fit on 0.011B/0.079B/0.154B/0.411B at M=20 and 0.011B at M=320)"
  args=$("$NANOLM_PYTHON" -c "import json; print(' '.join(f'{int(t[\"N\"])}:{int(t[\"D\"])}' for t in json.load(open('$ref/subsets/gadre_targets.json'))['$set']))")
  "$NANOLM" fit --law overtrain --input "$ref/subsets/gadre_${set}_fit.csv" --predict $args --json |
    "$NANOLM_PYTHON" -c "
import json, sys
fit = json.load(sys.stdin); targets = json.load(open('$ref/subsets/gadre_targets.json'))['$set']
print('  ' + ', '.join(f'{k} {v:.4g}' for k, v in sorted(fit['coefficients'].items())))
for p, t in zip(fit['predictions'], targets):
    print(f\"  {t['name']:<32} M {p['M']:>4.0f}: predicted {p['loss']:.4f}, actual {t['loss']:.4f}, error {100 * (p['loss'] - t['loss']) / t['loss']:+.2f}%\")"
done
