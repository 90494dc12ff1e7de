#!/usr/bin/env bash
# `make run`: starts demo_upstream on 127.0.0.1:9000 and sluiced on
# configs/demo.json (listening on 127.0.0.1:8080) in front of it, prints curl
# lines to try, and stops both on Ctrl-C.
set -euo pipefail

build=${1:?usage: scripts/run-demo.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
config=$root/configs/demo.json
proxy_port=8080     # as in configs/demo.json
upstream_port=9000  # as in configs/demo.json
admin_port=9901     # as in configs/demo.json (state_dir /tmp/sluice-demo)

for binary in sluiced demo_upstream sluicectl/sluicectl; do
  [ -x "$build/$binary" ] || { echo "run-demo: $build/$binary is missing; build first (make build)" >&2; exit 1; }
done

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for port in $upstream_port $proxy_port $admin_port; do
  if listening "$port"; then
    echo "run-demo: 127.0.0.1:$port is already in use; stop what listens there (ss -ltnp 'sport = :$port')" >&2
    exit 1
  fi
done

pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
  [ ${#pids[@]} -eq 0 ] && return
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "run-demo: stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# Polls (bounded) until `port` accepts connections; fails if `pid` exits first.
wait_listening() {
  local port=$1 pid=$2 name=$3
  for _ in $(seq 100); do
    listening "$port" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "run-demo: $name exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "run-demo: $name is not listening on 127.0.0.1:$port after 10 s" >&2
  exit 1
}

"$build/demo_upstream" --listen "127.0.0.1:$upstream_port" &
pids+=($!)
wait_listening "$upstream_port" "$!" demo_upstream

"$build/sluiced" --config "$config" &
pids+=($!)
wait_listening "$proxy_port" "$!" sluiced

url=http://127.0.0.1:$proxy_port
cat <<EOF

sluiced is running on $url in front of demo_upstream (which echoes each request as JSON).
Quotas (configs/demo.json): 5 requests per 10 s per client IP on /v1/*, 3 token exchanges
per minute per bearer token. Try, from another terminal:

  # An allowed request: the response carries RateLimit-Limit, -Remaining and -Reset.
  curl -i $url/v1/things

  # Past the 5th request within 10 s: 429 with Retry-After.
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} remaining=%header{ratelimit-remaining} retry-after=%header{retry-after}\n' $url/v1/things; done

  # The refusal itself.
  curl -i $url/v1/things

  # Token exchange, 10 s later: the 4th exchange with one token within a minute is refused,
  # another token still passes.
  for i in 1 2 3 4; do curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Authorization: Bearer demo-token' $url/v1/auth/exchange; done
  curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Authorization: Bearer other-token' $url/v1/auth/exchange

  # The admin API (token in /tmp/sluice-demo/admin.token): quotas, usage, blocks, metrics.
  $build/sluicectl/sluicectl --config $config quota list
  $build/sluicectl/sluicectl --config $config quota set burst-test path=/v1/burst rate=2 interval=10s
  $build/sluicectl/sluicectl --config $config usage per-ip 127.0.0.1
  $build/sluicectl/sluicectl --config $config stats
  curl -s -H "X-Vault-Token: \$(cat /tmp/sluice-demo/admin.token)" http://127.0.0.1:$admin_port/metrics

Ctrl-C stops both.
EOF

# Until Ctrl-C, or until either one exits (its own stderr says why).
wait -n
