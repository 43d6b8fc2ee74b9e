#!/usr/bin/env bash
# A plain docker-CLI checker for tp-compose, as a teacher would write one: the same
# observations as `grade check tp-compose`, one docker command each and one throwaway busybox
# probe per network observation. The baseline of bench/bench_check.py; prints "score/20".
# Everything is found by Compose's labels in project PROJECT (services identidock, dnmonster,
# redis; network identinet; volume identiredis_volume); TCP goes to the address the engine gave
# each service on identinet, never to a name identidock resolves.
set -u
PROBE=${PROBE:-busybox:1.36.1}
PROJECT=${PROJECT:?the Compose project to grade}
APP_PORT=${APP_PORT:-5000}
score=0
pass() { score=$((score + $1)); echo "ok   $2"; }
miss() { echo "FAIL $1"; }
of() {  # service -> its container's id
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -1
}
running() { [ -n "$1" ] && [ "$(docker inspect "$1" --format '{{.State.Running}}' 2>/dev/null)" = true ]; }

app=$(of identidock); dnmonster=$(of dnmonster); redis=$(of redis)
running "$app" && running "$dnmonster" && running "$redis" && pass 2 services-lances || miss services-lances

image=$(docker inspect "$app" --format '{{.Image}}' 2>/dev/null)
built=$(docker image inspect "$image" --format '{{len .RepoDigests}} {{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}}' 2>/dev/null)
[ "$built" = "0 $PROJECT identidock" ] && pass 4 image-construite || miss image-construite

network=$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT" \
  --filter "label=com.docker.compose.network=identinet" | head -1)
net_name=$(docker network inspect "$network" --format '{{.Name}}' 2>/dev/null)
address() {  # container -> its address on identinet, if running
  running "$1" && docker inspect "$1" --format "{{with index .NetworkSettings.Networks \"$net_name\"}}{{.IPAddress}}{{end}}" 2>/dev/null
}
app_ip=$(address "$app"); dn_ip=$(address "$dnmonster"); redis_ip=$(address "$redis")
if [ "$(docker network inspect "$network" --format '{{.Driver}}' 2>/dev/null)" = bridge ] \
  && [ -n "$app_ip" ] && [ -n "$dn_ip" ] && [ -n "$redis_ip" ]; then
  pass 2 reseau-projet
  dns_ok=1
  for pair in "dnmonster $dn_ip" "redis $redis_ip"; do
    set -- $pair
    docker run --rm --network "container:$app" "$PROBE" timeout 3 nslookup -type=a "$1" 127.0.0.11 2>/dev/null \
      | grep -q "Address: $2\$" || dns_ok=0
  done
  if [ $dns_ok = 1 ]; then
    pass 3 dns-services
    docker run --rm --network "container:$app" "$PROBE" timeout 4 nc -w 3 "$dn_ip" 8080 -e true >/dev/null 2>&1 \
      && pass 2 app-vers-dnmonster || miss app-vers-dnmonster
    docker run --rm --network "container:$app" "$PROBE" timeout 4 nc -w 3 "$redis_ip" 6379 -e true >/dev/null 2>&1 \
      && pass 2 app-vers-redis || miss app-vers-redis
  else
    miss dns-services
  fi
else
  miss reseau-projet
fi

running "$app" && docker port "$app" 5000/tcp 2>/dev/null | grep -q ":$APP_PORT\$" \
  && docker run --rm --network host "$PROBE" sh -c \
    "printf 'GET / HTTP/1.0\r\n\r\n' | timeout 6 nc -w 5 127.0.0.1 $APP_PORT | head -1 | grep -q ' 200'" \
  && pass 3 port-publie || miss port-publie

volume=$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" \
  --filter "label=com.docker.compose.volume=identiredis_volume" | head -1)
running "$redis" && [ -n "$volume" ] \
  && [ "$(docker inspect "$redis" --format '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Type}} {{.Name}} {{.RW}}{{end}}{{end}}')" = "volume $volume true" ] \
  && pass 2 volume-redis || miss volume-redis

links=$(for c in $app $dnmonster $redis; do docker inspect "$c" --format '{{.HostConfig.Links}}' 2>/dev/null; done | grep -v '^\[\]$' || true)
[ -z "$links" ] || { score=$((score - 2)); echo "FAIL sans-link"; }
[ $score -lt 0 ] && score=0
echo "$score/20"
