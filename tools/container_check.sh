#!/usr/bin/env bash
# Build the portal's image from the Dockerfile as it is and prove it: /healthz and /readyz answer, the
# container does not run as root, its HEALTHCHECK passes, its logs are JSON; then the same for
# docker-compose.yml. Run by .ci/run after the tests; exits non-zero on the first failure.
#
#   bash tools/container_check.sh            (as root, on Debian 12; installs what it needs)
#
# How, on machines with no Docker daemon and no registry (see ../shared/container/ for the findings):
# rootful podman with runc, rlimits no higher than the host's, a Debian bookworm base made with
# debootstrap and imported under the Dockerfile's FROM name, `--format docker` so the HEALTHCHECK
# survives, podman-compose from PyPI. HOST NETWORKING ONLY, for every build and run: no bridge
# network, no container address; everything listens on 127.0.0.1.
# Env: WORK (default /tmp/navexa-container-check), PORTAL_PORT (8000, fixed by the image), REDIS_PORT.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=""
WORK=${WORK:-/tmp/navexa-container-check}
PORTAL_PORT=8000
REDIS_PORT=${REDIS_PORT:-16379}
SANDBOX_PORT=8400  # the demo's, as the compose file and .env.sandbox name it
IMAGE=localhost/navexa-portal:check
REDIS_IMAGE=docker.io/library/redis:7-alpine  # the compose file's image, made locally
PROJECT=navexa-check
STARTED=$(date +%s)
mkdir -p "$WORK"

say() { printf '\n== [%3ss] %s\n' "$(( $(date +%s) - STARTED ))" "$*"; }
fail() { echo "container check FAILED: $*" >&2; exit 1; }
answers() {  # answers URL SECONDS: wait until URL answers 2xx
  local i
  for ((i = 0; i < $2 * 5; i++)); do curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  return 1
}
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

remove_leftovers() {  # containers of this check, whatever left them (an interrupted run, say)
  podman ps -aq --filter "label=io.podman.compose.project=$PROJECT" 2>/dev/null | xargs -r podman rm -f -t 3 >/dev/null 2>&1
  podman rm -f -t 3 navexa-check-portal navexa-check-redis >/dev/null 2>&1
  return 0
}

COMPOSE_FILES=()
cleanup() {
  set +e
  if [ ${#COMPOSE_FILES[@]} -gt 0 ]; then  # --profile sandbox: down leaves a profile's services up otherwise
    (cd "$SRC" && "$WORK/venv/bin/podman-compose" -p "$PROJECT" --profile sandbox "${COMPOSE_FILES[@]}" down -v >/dev/null 2>&1)
  fi
  remove_leftovers
}
trap cleanup EXIT

say "tools: podman, runc, debootstrap (Debian)"
need=()
for tool in podman runc debootstrap curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi
podman --version
remove_leftovers

say "podman settings for this machine"
nofile=$(ulimit -Hn); [ "$nofile" != unlimited ] || nofile=1048576
nproc=$(ulimit -Hu); pid_max=$(cat /proc/sys/kernel/pid_max)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc=$pid_max; fi
cat > "$WORK/containers.conf" <<EOF
[containers]
netns = "host"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"  # runc: crun refuses this kernel's hybrid cgroups; rlimits: no CAP_SYS_RESOURCE

FROM_NAME=$(awk 'toupper($1) == "FROM" { print $2; exit }' "$ROOT/Dockerfile")
case "$FROM_NAME" in */*/*) BASE=$FROM_NAME ;; */*) BASE=docker.io/$FROM_NAME ;; *) BASE=docker.io/library/$FROM_NAME ;; esac
if podman image exists "$BASE"; then
  say "base image $BASE: made earlier"
else
  say "base image $BASE: Debian bookworm (Python 3.11) by debootstrap"
  MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  MIRROR=${MIRROR:-$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
  [ -n "$MIRROR" ] || fail "no Debian mirror in apt's sources"
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,ca-certificates,netbase,tzdata \
    bookworm "$rootfs" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; fail debootstrap; }
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED  # root may pip install, as in the official image
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then  # downloads pass a TLS-inspecting proxy here
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  mkdir -p "$rootfs/var/lib/apt/lists/partial"
  tar --numeric-owner -C "$rootfs" -cf - . | podman import --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["python3"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

say "build the portal's image from the Dockerfile as it is (a copy of the tracked files is the context)"
SRC="$WORK/src"
rm -rf "$SRC" && mkdir -p "$SRC"
(cd "$ROOT" && git ls-files -z | xargs -0 cp --parents -t "$SRC")
podman build --network host --format docker --pull=never -t "$IMAGE" "$SRC" > "$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log"; fail "podman build"; }
user=$(podman image inspect "$IMAGE" --format '{{.User}}')
health=$(podman image inspect "$IMAGE" --format '{{json .HealthCheck.Test}}')
echo "user: $user; healthcheck: $health"
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] || fail "the image runs as root"
[ "$health" != null ] || fail "the image has no HEALTHCHECK"
podman image exists "$REDIS_IMAGE" || {
  say "redis image $REDIS_IMAGE: Debian's redis-server on the same base"
  mkdir -p "$WORK/redis"
  printf '%s\n' "FROM $BASE" \
    "RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && apt-get update && apt-get install -y --no-install-recommends redis-server && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d" \
    'WORKDIR /data' 'CMD ["redis-server"]' > "$WORK/redis/Containerfile"
  podman build --network host --format docker --pull=never -t "$REDIS_IMAGE" "$WORK/redis" > "$WORK/redis.log" 2>&1 \
    || { tail -30 "$WORK/redis.log"; fail "redis image"; }
}

for port in "$PORTAL_PORT" "$REDIS_PORT" "$SANDBOX_PORT"; do in_use "$port" && fail "port $port is in use on this machine"; done

check_portal() {  # check_portal CONTAINER WHAT
  answers "http://127.0.0.1:$PORTAL_PORT/healthz" 60 || { podman logs "$1" 2>&1 | tail -30; fail "$2: /healthz"; }
  ready=$(curl -sS "http://127.0.0.1:$PORTAL_PORT/readyz")
  [[ $ready == *'"redis":"ok"'* ]] || fail "$2: /readyz said $ready"
  uid=$(podman exec "$1" id -u)
  [ "$uid" != 0 ] || fail "$2: runs as root"
  podman healthcheck run "$1" >/dev/null || fail "$2: HEALTHCHECK"
  logs=$(podman logs "$1" 2>&1)
  ! grep -q "Control server error" <<<"$logs" || fail "$2: gunicorn's control socket error"
  grep -q '"message": "Listening at' <<<"$logs" || { echo "$logs" | tail -20; fail "$2: logs are not JSON lines"; }
  echo "$2: /healthz ok, /readyz $ready, uid $uid, HEALTHCHECK healthy, JSON logs"
}

say "run the image (host network, loopback only) beside redis"
podman run -d --name navexa-check-redis --network host "$REDIS_IMAGE" \
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no >/dev/null
podman run -d --name navexa-check-portal --network host -e BIND=127.0.0.1:$PORTAL_PORT \
  -e APP_ENV=development -e NAVEXA_CLIENT_ID=check-client -e NAVEXA_CLIENT_SECRET=check-secret \
  -e REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" "$IMAGE" >/dev/null
check_portal navexa-check-portal image
podman rm -f -t 10 navexa-check-portal navexa-check-redis >/dev/null

say "docker-compose.yml with podman-compose, host networking by an override"
[ -x "$WORK/venv/bin/podman-compose" ] || { python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q podman-compose==1.6.0; }
redis_command=$(python3 - "$SRC/docker-compose.yml" "$REDIS_PORT" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
command = json.loads(re.search(r'command: (\[.*?\])', text, re.S).group(1).replace("\n", " "))
print(json.dumps(command + ["--bind", "127.0.0.1", "--port", sys.argv[2]]))
PY
)
cat > "$WORK/compose.host.yml" <<EOF
# Host networking only on these machines: no compose network, so "redis" is no hostname here.
services:
  portal:
    network_mode: host
    ports: !reset []
    environment:
      REDIS_URL: redis://127.0.0.1:$REDIS_PORT/0
      BIND: 127.0.0.1:$PORTAL_PORT
  redis:
    network_mode: host
    command: $redis_command
EOF
printf '%s\n' APP_ENV=development NAVEXA_CLIENT_ID=check-client NAVEXA_CLIENT_SECRET=check-secret \
  "PUBLIC_URL=http://127.0.0.1:$PORTAL_PORT" > "$WORK/compose.env"
cp "$WORK/compose.env" "$SRC/.env"  # the compose file reads .env (git-ignored): a development one, in the copy only
COMPOSE_FILES=(-f docker-compose.yml -f "$WORK/compose.host.yml")
(cd "$SRC" && "$WORK/venv/bin/podman-compose" -p "$PROJECT" \
  --podman-build-args "--network host --format docker --pull=never" "${COMPOSE_FILES[@]}" up -d --build) \
  > "$WORK/compose.log" 2>&1 || { tail -30 "$WORK/compose.log"; fail "podman-compose up"; }
check_portal "${PROJECT}_portal_1" compose
appendonly=$(podman exec "${PROJECT}_redis_1" redis-cli -p "$REDIS_PORT" config get appendonly | tail -1)
policy=$(podman exec "${PROJECT}_redis_1" redis-cli -p "$REDIS_PORT" config get maxmemory-policy | tail -1)
echo "compose redis: appendonly $appendonly, maxmemory-policy $policy"
[ "$appendonly" = yes ] || fail "compose: redis without AOF persistence"
(cd "$SRC" && "$WORK/venv/bin/podman-compose" -p "$PROJECT" "${COMPOSE_FILES[@]}" down -v >/dev/null 2>&1)
remove_leftovers

say "the sandbox profile: the credential-free demo, signed in through with curl as a browser would"
cp "$SRC/.env.sandbox" "$SRC/.env"  # as the README says
cat > "$WORK/compose.demo.yml" <<EOF
# Host networking: the portal reaches the sandbox on loopback, as the browser does.
services:
  portal:
    environment:
      NAVEXA_AUTH_URL: http://127.0.0.1:$SANDBOX_PORT
      NAVEXA_API_URL: http://127.0.0.1:$SANDBOX_PORT/api
  sandbox:
    network_mode: host
    ports: !reset []
    command: ["python", "-m", "sandbox", "--host", "127.0.0.1", "--port", "$SANDBOX_PORT"]
EOF
COMPOSE_FILES=(-f docker-compose.yml -f "$WORK/compose.host.yml" -f "$WORK/compose.demo.yml")
(cd "$SRC" && "$WORK/venv/bin/podman-compose" -p "$PROJECT" --profile sandbox \
  --podman-build-args "--network host --format docker --pull=never" "${COMPOSE_FILES[@]}" up -d --build) \
  > "$WORK/compose-demo.log" 2>&1 || { tail -30 "$WORK/compose-demo.log"; fail "podman-compose --profile sandbox up"; }
answers "http://127.0.0.1:$SANDBOX_PORT/.well-known/openid-configuration" 60 || fail "demo: the sandbox did not answer"
check_portal "${PROJECT}_portal_1" demo
jar="$WORK/cookies" && rm -f "$jar"
browse() { curl -sS -m 10 -c "$jar" -b "$jar" "$@"; }
authorize=$(browse -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$PORTAL_PORT/login")
[[ $authorize == "http://127.0.0.1:$SANDBOX_PORT/authorize?"* ]] || fail "demo: /login sent the browser to '$authorize'"
browse -o /dev/null "$authorize"
callback=$(browse -o /dev/null -w '%{redirect_url}' --data 'username=alice&decision=allow' "$authorize")
[[ $callback == "http://127.0.0.1:$PORTAL_PORT/callback?"* ]] || fail "demo: the sandbox sent the browser to '$callback'"
landed=$(browse -o /dev/null -w '%{http_code} %{redirect_url}' "$callback")
[ "$landed" = "302 http://127.0.0.1:$PORTAL_PORT/portfolios" ] || fail "demo: /callback answered '$landed'"
page=$(browse -w '\n%{http_code}' "http://127.0.0.1:$PORTAL_PORT/portfolios")
if ! grep -q "Retirement" <<<"$page"; then  # say what the page said, and what the two logs said about it
  sed -e 's/<[^>]*>//g' -e '/^[[:space:]]*$/d' <<<"$page" | tail -25
  podman logs --tail 20 "${PROJECT}_portal_1" 2>&1 | cut -c1-400
  podman logs --tail 20 "${PROJECT}_sandbox_1" 2>&1 | cut -c1-400
  fail "demo: alice's portfolios are not shown"
fi
echo "demo: signed in as alice through the sandbox; her portfolios are shown"
listed=$(podman exec "${PROJECT}_portal_1" python -m flask --app wsgi sessions list 'auth0|alice-7f3a91' 2>/dev/null) \
  || fail "demo: the operator's sessions command failed"
[[ $listed == "1 session of auth0|alice-7f3a91"* ]] || fail "demo: the operator's sessions command said '$listed'"
echo "demo: an operator's 'flask --app wsgi sessions list' in the container finds her one session"

say "PASS: the image, the compose stack and its sandbox demo serve, as a non-root user, healthy"
