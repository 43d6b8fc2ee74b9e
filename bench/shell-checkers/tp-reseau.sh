#!/usr/bin/env bash
# A plain docker-CLI checker for tp-reseau, as a teacher would write one: the same
# observations as `grade check tp-reseau`, one docker command each and one throwaway busybox
# probe per network observation. The baseline of bench/bench_check.py; prints "score/20".
# TCP goes to the address the engine gave redis (redis2), never to a name the app resolves.
set -u
PROBE=${PROBE:-busybox:1.36.1}
score=0
pass() { score=$((score + $1)); echo "ok   $2"; }
miss() { echo "FAIL $1"; }

driver=$(docker network inspect moby-network --format '{{.Driver}}' 2>/dev/null)
[ "$driver" = bridge ] && pass 2 reseau-cree || miss reseau-cree

attached() {  # container network -> running and attached
  [ "$(docker inspect "$1" --format "{{.State.Running}} {{with index .NetworkSettings.Networks \"$2\"}}yes{{end}}" 2>/dev/null)" = "true yes" ]
}
attached redis moby-network && { pass 2 redis-attache; redis_ok=1; } || { miss redis-attache; redis_ok=0; }
attached moby-counter moby-network && { pass 2 app-attache; app_ok=1; } || { miss app-attache; app_ok=0; }

if [ $redis_ok = 1 ] && [ $app_ok = 1 ]; then
  ip=$(docker inspect redis --format '{{(index .NetworkSettings.Networks "moby-network").IPAddress}}')
  if docker run --rm --network container:moby-counter "$PROBE" timeout 3 nslookup -type=a redis 127.0.0.11 2>/dev/null | grep -q "Address: $ip\$"; then
    pass 3 dns-redis
    docker run --rm --network container:moby-counter "$PROBE" timeout 4 nc -w 3 "$ip" 6379 -e true >/dev/null 2>&1 \
      && pass 2 app-vers-redis || miss app-vers-redis
  else
    miss dns-redis
  fi
fi

published() {  # container host-port points id -> published there, and GET / answers
  [ "$(docker inspect "$1" --format '{{.State.Running}}' 2>/dev/null)" = true ] \
    && docker port "$1" 80/tcp 2>/dev/null | grep -q ":$2\$" \
    && docker run --rm --network host "$PROBE" timeout 5 wget -q -O /dev/null "http://127.0.0.1:$2/" >/dev/null 2>&1 \
    && pass "$3" "$4" || miss "$4"
}
published moby-counter 8000 2 port-publie
published moby-counter2 9090 1 port-publie-2

driver2=$(docker network inspect moby-network2 --format '{{.Driver}}' 2>/dev/null)
nets2=$(docker inspect moby-counter2 --format '{{.State.Running}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' 2>/dev/null)
if [ "$driver2" = bridge ] && [ "$nets2" = "true moby-network2 " ]; then
  pass 2 reseau-2
  ip2=$(docker inspect redis2 --format '{{(index .NetworkSettings.Networks "moby-network2").IPAddress}}' 2>/dev/null)
  if docker run --rm --network container:moby-counter2 "$PROBE" timeout 3 nslookup -type=a redis 127.0.0.11 2>/dev/null | grep -q "Address: $ip2\$"; then
    pass 2 alias-redis
    docker run --rm --network container:moby-counter2 "$PROBE" timeout 4 nc -w 3 "$ip2" 6379 -e true >/dev/null 2>&1 \
      && pass 1 redis2-joignable || miss redis2-joignable
  else
    miss alias-redis
  fi
  if [ $redis_ok = 1 ]; then
    redis_ips=$(docker inspect redis --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}')
    answers=$(docker run --rm --network container:moby-counter2 "$PROBE" timeout 3 nslookup -type=a redis 127.0.0.11 2>/dev/null)
    leak=0
    for addr in $redis_ips; do echo "$answers" | grep -q "Address: $addr\$" && leak=1; done
    [ $leak = 0 ] && pass 1 isolation || miss isolation
  fi
else
  miss reseau-2
fi

links=$(docker inspect redis moby-counter moby-counter2 redis2 --format '{{.HostConfig.Links}}{{range .NetworkSettings.Networks}}{{.Links}}{{end}}' 2>/dev/null | grep -v '^\[\]\(\[\]\)*$' | grep -v '^<no value>' || true)
[ -z "$links" ] || { score=$((score - 2)); echo "FAIL sans-link"; }
[ $score -lt 0 ] && score=0
echo "$score/20"
